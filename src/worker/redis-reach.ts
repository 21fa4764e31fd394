import type { RedisClient } from '../redis.js';

/**
 * Whether this worker reaches Redis, for its heartbeat: the supervisor writes every worker's
 * heartbeat on its own connection, so a worker cut off from Redis (its connections closed and
 * not coming back) must say so, or it would look alive while taking no job and renewing no lock.
 * A half-open connection counts once ioredis gives it up: its socket timeout closes a
 * connection whose command waited too long, and reconnecting begins.
 */
export class RedisReach {
  /** Each connection that is down, since when (this process's clock). */
  private readonly down = new Map<RedisClient, number>();

  watch(connection: RedisClient): void {
    if (connection.status !== 'ready') this.down.set(connection, Date.now());
    connection.on('ready', () => this.down.delete(connection));
    connection.on('close', () => { if (!this.down.has(connection)) this.down.set(connection, Date.now()); });
  }

  /** How long the longest-down connection has been down, in ms (0 while every one is up). */
  downMs(now = Date.now()): number {
    let since = now;
    for (const at of this.down.values()) since = Math.min(since, at);
    return Math.max(0, now - since);
  }
}

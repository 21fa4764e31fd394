import { redisErrorKind, type RedisErrorKind } from '../redis-errors.js';

/**
 * A worker's failed Redis commands, counted by kind and sent in one message per flush: a full
 * Redis fails every heartbeat and a BullMQ Worker's fetch loop can fail thousands of times a
 * second, which must not become thousands of IPC messages.
 */
export class RedisErrorTally {
  private counts = new Map<RedisErrorKind, number>();

  constructor(private readonly send: (counts: Partial<Record<RedisErrorKind, number>>) => void) {}

  count(error: unknown): void {
    const kind = redisErrorKind(error);
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  flush(): void {
    if (this.counts.size === 0) return;
    const counts = Object.fromEntries(this.counts);
    this.counts = new Map();
    this.send(counts);
  }
}

import { Redis, type RedisOptions } from 'ioredis';
import { BouyError } from './errors.js';
import { redactUrl } from './config/config.js';
import { within } from './timeout.js';

/**
 * A connection for bouy's own commands. `maxRetriesPerRequest: null` is what BullMQ needs for
 * its blocking connections; for ours it means a command waits for Redis to come back rather
 * than failing the heartbeat the moment Redis restarts.
 */
export function connect(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}

/** Redis answered, but refused our credentials: a wrong password is not a missing server. */
export function isAuthError(error: unknown): boolean {
  return /\b(WRONGPASS|NOAUTH|NOPERM)\b|invalid (username-)?password/i.test((error as Error)?.message ?? '');
}

/** The error a person sees when Redis cannot be used: which Redis (password hidden), why, what to do. */
export function redisError(url: string, error: unknown): BouyError {
  if (isAuthError(error)) {
    return new BouyError('BOUY_ERR_REDIS_AUTH', `Redis at ${redactUrl(url)} refused the credentials: ${(error as Error).message}`, {
      hint: 'check the password (and user) in REDIS_URL, e.g. redis://:PASSWORD@host:6379, against the server\'s requirepass / ACL',
      cause: error,
    });
  }
  return new BouyError('BOUY_ERR_REDIS_UNREACHABLE', `Redis is not reachable at ${redactUrl(url)}: ${(error as Error).message}`, {
    hint: 'start one (`./bouy up` starts the stack\'s Redis; locally: `redis-server --port 6379`) or set REDIS_URL',
    cause: error,
  });
}

/**
 * Pre-flight: is Redis there? One short attempt, no retry loop, so a missing Redis fails the
 * start promptly (and the orchestrator's restart policy decides what happens next).
 */
export async function assertRedisReachable(url: string, timeoutMs = 3000): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let cause: Error | undefined;
  client.on('error', (error: Error) => {
    cause ??= error; // the reason (WRONGPASS, ECONNREFUSED) behind ioredis's "Connection is closed."
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw redisError(url, cause ?? error);
  } finally {
    client.disconnect();
  }
}

/** PING with a deadline, for readiness checks that must answer quickly. */
export function pingWithin(client: Redis, timeoutMs: number): Promise<boolean> {
  return within(client.ping().then((reply) => reply === 'PONG'), timeoutMs, false);
}

import { Redis, type RedisOptions } from 'ioredis';
import { BouyError } from './errors.js';
import { redactUrl } from './config/config.js';

/**
 * A connection for bouy's own commands. `maxRetriesPerRequest: null` is what BullMQ needs for
 * its blocking connections; for ours it means a command waits for Redis to come back rather
 * than failing the heartbeat the moment Redis restarts.
 */
export function connect(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
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
  client.on('error', () => {
    // reported through the rejected connect below
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new BouyError('BOUY_ERR_REDIS_UNREACHABLE', `Redis is not reachable at ${redactUrl(url)}: ${(error as Error).message}`, {
      hint: 'start one (`./bouy up` starts the stack\'s Redis; locally: `redis-server --port 6379`) or set REDIS_URL',
      cause: error,
    });
  } finally {
    client.disconnect();
  }
}

/**
 * Settles with `fallback` if `work` has not settled within `timeoutMs`. Our connections queue
 * commands while Redis is away (maxRetriesPerRequest: null), so anything a health check asks
 * Redis must be bounded or the check hangs exactly when it matters.
 */
export async function within<T>(work: Promise<T>, timeoutMs: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), timeoutMs);
  });
  try {
    return await Promise.race([work.catch(() => fallback), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** PING with a deadline, for readiness checks that must answer quickly. */
export function pingWithin(client: Redis, timeoutMs: number): Promise<boolean> {
  return within(client.ping().then((reply) => reply === 'PONG'), timeoutMs, false);
}

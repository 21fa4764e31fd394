import type { DestinationStream } from 'pino';
import type { RedisOptions } from 'ioredis';
import type { SharedSettings } from '../config/shared.js';
import { createLogger, type Logger } from '../log.js';
import { assertRedisReachable, connect, type RedisClient as Redis } from '../redis.js';
import type { Releasers } from './releasers.js';
import { within } from '../timeout.js';
import { onShutdownSignal } from '../signals.js';

/** Resolves with the first shutdown signal. */
export function untilShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const remove = onShutdownSignal((signal) => {
      remove();
      resolve(signal);
    });
  });
}

/**
 * What every role after pre-flight has: its logger (tagged with the role) and a Redis
 * connection, made only once Redis answered. `preflight` runs first, for role-specific checks.
 * The connection is registered with `releasers`: it closes after everything that uses it.
 */
export async function startRole(
  config: SharedSettings, role: string, releasers: Releasers,
  options: { preflight?: () => Promise<void>; redisOptions?: RedisOptions; destination?: DestinationStream } = {},
): Promise<{ log: Logger; redis: Redis }> {
  const log = createLogger({ level: config.logLevel, format: config.logFormat, name: 'bouy', base: { role, host: config.hostname } }, options.destination);
  await options.preflight?.();
  await assertRedisReachable(config.redis);
  const redis = connect(config.redis, options.redisOptions);
  redis.on('error', (error) => log.warn({ err: error }, `${role} Redis connection error`));
  // QUIT waits for Redis's reply, which a dead connection never sends: bounded, then cut.
  releasers.add('redis connection', async () => {
    if (!(await within(redis.quit().then(() => true), 1000, false))) redis.disconnect();
  });
  return { log, redis };
}

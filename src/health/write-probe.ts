import type { RedisClient as Redis } from '../redis.js';
import { within } from '../timeout.js';
import { writeRefusal } from '../redis-errors.js';

/** The key written by every probe of a bouy deployment (under KEY_PREFIX); it expires by itself. */
export const writeProbeKey = (keyPrefix: string) => `${keyPrefix}:write-probe`;

/**
 * Whether Redis refuses writes now, by writing: a full Redis (maxmemory under `noeviction`)
 * still answers PING and reads, and its INFO cannot say it (usage hovers just under maxmemory
 * between refusals: each write's own buffers push it over). One SET of a few bytes that expires
 * answers exactly as a heartbeat or an enqueue would. The refusal's reason (`redis refuses
 * writes: out of memory`, …), or undefined when the write went through, failed otherwise
 * (PING says whether Redis is away) or got no answer within `withinMs`.
 */
export async function writeProbe(redis: Redis, key: string, withinMs = 1000): Promise<string | undefined> {
  const outcome = redis.set(key, '1', 'PX', 10_000).then(() => undefined, (error: unknown) => writeRefusal(error));
  return within(outcome, withinMs, undefined);
}

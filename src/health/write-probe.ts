import type { RedisClient as Redis } from '../redis.js';
import { within } from '../timeout.js';
import { writeRefusal } from '../redis-errors.js';

/** The key of every probe of a bouy deployment (under KEY_PREFIX); nothing ever creates it. */
export const writeProbeKey = (keyPrefix: string) => `${keyPrefix}:write-probe`;

/**
 * Whether Redis refuses writes now. A full Redis (maxmemory under `noeviction`) still answers
 * PING and reads, and its INFO cannot say it (usage hovers just under maxmemory between
 * refusals: each write's own buffers push it over). Redis admits or refuses a write command
 * before running it, whatever it would change: `SET key 1 XX` of a key that does not exist is
 * refused exactly as a heartbeat or an enqueue would be (out of memory, a read-only replica,
 * MISCONF), and when admitted it writes nothing. The refusal's reason (`redis refuses writes:
 * out of memory`, …), or undefined when admitted, failed otherwise (PING says whether Redis is
 * away) or got no answer within `withinMs`.
 */
export async function writeProbe(redis: Redis, key: string, withinMs = 1000): Promise<string | undefined> {
  const outcome = redis.set(key, '1', 'XX').then(() => undefined, (error: unknown) => writeRefusal(error));
  return within(outcome, withinMs, undefined);
}

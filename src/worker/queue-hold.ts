import type { RedisClient } from '../redis.js';

/**
 * A processor's 429 holds the whole queue, every worker of every container (those that start
 * during the hold included), for the provider's Retry-After, at no cost per job the rest of the
 * time.
 *
 * BullMQ's fetch script (moveToActive) honours the queue's limiter key only when it knows a
 * maximum: the queue meta's `max` (QUEUE_RATE_LIMIT, queue-limits.ts) or the fetching worker's
 * own `limiter` option. Knowing one costs a GET, a HEXISTS and an INCR on every job fetched
 * (three commands on top of plain BullMQ's 24 per no-op job; see BENCHMARKS.md). bouy used to
 * give every worker a limiter that never bites only so that a 429 could hold the fleet; now the
 * 429 arms the queue's meta instead, for as long as the hold lasts:
 * - hold: when the meta has no `max` (no QUEUE_RATE_LIMIT), write one that never bites
 *   (ARMED_MAX) with a duration, and set the limiter key as BullMQ's `rateLimit(ms)` does.
 *   Every worker's next fetch reads the meta (it already does, for pause and limits) and waits.
 * - release: once the limiter key no longer holds (its expiry), take an ARMED_MAX away again.
 *   A hold still running (another 429 since) stays armed: its own worker releases it later.
 * A worker that dies before its release leaves the meta armed: a cost per job again, never a
 * lost hold; the next supervisor to start with QUEUE_RATE_LIMIT unset clears it (queue-limits.ts).
 */

/** The `max` a 429 writes to the meta: a billion jobs per second never limits by itself. */
export const ARMED_MAX = '1000000000';
/** What BullMQ's `rateLimit(ms)` writes to the limiter key: above any `max`, so nothing starts. */
const HELD = '9007199254740991';

export interface QueueHoldKeys {
  /** BullMQ's queue meta hash (`<prefix>:<queue>:meta`). */
  readonly meta: string;
  /** BullMQ's rate limiter key (`<prefix>:<queue>:limiter`). */
  readonly limiter: string;
}

/** The two keys of a BullMQ Queue or Worker (its `keys` map, which names every key of the queue). */
export function holdKeysOf(queue: { readonly keys: { readonly [name: string]: string } }): QueueHoldKeys {
  const { meta, limiter } = queue.keys;
  if (meta === undefined || limiter === undefined) throw new Error('BullMQ names no meta or limiter key for this queue');
  return { meta, limiter };
}

// KEYS[1] meta, KEYS[2] limiter; ARGV[1] ms, ARGV[2] ARMED_MAX, ARGV[3] HELD.
// A QUEUE_RATE_LIMIT's own max stays: the held value is above it as well.
const HOLD = `
if redis.call('HEXISTS', KEYS[1], 'max') == 0 then
  redis.call('HSET', KEYS[1], 'max', ARGV[2], 'duration', '1000')
end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[1])
return 1`;

// KEYS[1] meta, KEYS[2] limiter; ARGV[1] ARMED_MAX, ARGV[2] '1' to clear any max (no
// QUEUE_RATE_LIMIT: a supervisor's start) or '0' for an armed one only (a worker's release).
// Returns the hold's remaining ms (still armed, for it), or 0 when nothing holds any more.
const RELEASE = `
local max = redis.call('HGET', KEYS[1], 'max')
if not max or (max ~= ARGV[1] and ARGV[2] ~= '1') then return 0 end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[1]) then
  local left = redis.call('PTTL', KEYS[2])
  if left > 0 then
    redis.call('HSET', KEYS[1], 'max', ARGV[1], 'duration', '1000')
    return left
  end
end
redis.call('HDEL', KEYS[1], 'max', 'duration')
return 0`;

/** Holds every fetch of the queue for `ms` (a processor's 429), whatever each worker's options. */
export async function holdQueue(redis: RedisClient, keys: QueueHoldKeys, ms: number): Promise<void> {
  await redis.eval(HOLD, 2, keys.meta, keys.limiter, Math.max(1, Math.round(ms)), ARMED_MAX, HELD);
}

/**
 * Takes a 429's arming away once no hold runs; `anyMax` also removes a QUEUE_RATE_LIMIT that
 * is no longer configured (kept armed while a hold runs). Returns the ms a running hold has left.
 */
export async function releaseQueue(redis: RedisClient, keys: QueueHoldKeys, anyMax = false): Promise<number> {
  return Number(await redis.eval(RELEASE, 2, keys.meta, keys.limiter, ARMED_MAX, anyMax ? '1' : '0'));
}

/** Margin after a hold's expiry before its release: the limiter key is gone by then. */
const RELEASE_MARGIN_MS = 50;

/**
 * A worker's side: `hold(ms)` on a 429, then the release when it is over (again later if
 * another 429 extended it). Releases that fail (Redis away) leave the meta armed, which costs
 * commands per job, never the hold; `close()` tries a last release.
 */
export class QueueHold {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: QueueHoldKeys,
    private readonly failed: (error: unknown) => void,
  ) {}

  async hold(ms: number): Promise<void> {
    await holdQueue(this.redis, this.keys, ms);
    this.releaseIn(ms);
  }

  private releaseIn(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      releaseQueue(this.redis, this.keys).then((left) => { if (left > 0) this.releaseIn(left); }, this.failed);
    }, ms + RELEASE_MARGIN_MS);
    this.timer.unref();
  }

  /** Stops waiting to release; releases now if nothing holds any more (a no-op then). */
  async close(): Promise<void> {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    await releaseQueue(this.redis, this.keys).catch(this.failed);
  }
}

import { Worker } from 'bullmq';

/**
 * The rate limit of a queue, everything both processes agree on. Two kinds, one mechanism
 * (BullMQ's limiter, which every worker's fetch script obeys, so both hold fleet-wide):
 *
 * - QUEUE_RATE_LIMIT, the operator's: at most `max` job starts per duration. Its grammar is here
 *   (parseRateLimit, describeRateLimit); config/jobs.ts reads it from the environment, each
 *   supervisor writes it to the queues at start (services/queue-limits.ts), the backlog counts
 *   what it lets start (health/queue-backlog.ts);
 * - a provider's 429, a processor's: retryAfterOf reads it off the error, rateLimitOn429 turns it
 *   into a hold of the whole queue (worker/queue-hold.ts) and puts the job back.
 */

/** `QUEUE_RATE_LIMIT`: at most `max` job starts per `durationMs`, queue-wide. */
export interface RateLimit { readonly max: number; readonly durationMs: number }

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const RATE_LIMIT = /^(\d{1,9})\/(\d{1,9})(ms|s|m|h)$/;
export const RATE_LIMIT_HELP = '<max>/<duration>, e.g. 50/1s, 3000/1m, 10/500ms (max 1 or more, duration up to 24h)';

/** `50/1s` as a RateLimit; undefined when it is not one (RATE_LIMIT_HELP says what is). */
export function parseRateLimit(value: string): RateLimit | undefined {
  const match = RATE_LIMIT.exec(value);
  const max = Number(match?.[1]);
  const durationMs = Number(match?.[2]) * (DURATION_UNITS[match?.[3] ?? ''] ?? Number.NaN);
  if (!match || max < 1 || !(durationMs >= 1 && durationMs <= 86_400_000)) return undefined;
  return Object.freeze({ max, durationMs });
}

/** `50/1s` back from a RateLimit, for banners and /health. */
export function describeRateLimit(limit: RateLimit | undefined): string | null {
  if (!limit) return null;
  const [unit, size] = Object.entries(DURATION_UNITS).reverse().find(([, ms]) => limit.durationMs % ms === 0) ?? ['ms', 1];
  return `${limit.max}/${limit.durationMs / size}${unit}`;
}

/**
 * A provider's 429, as a processor reports it: an error with a `retryAfterMs` number (ms until
 * the provider takes calls again). bouy then holds the whole queue for that long (queue-hold.ts,
 * BullMQ's limiter key) and puts the job back, without spending one of its attempts.
 */
export function retryAfterOf(error: unknown): number | undefined {
  const ms = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? Math.min(ms, 3_600_000) : undefined;
}

/** What holds a queue for a while: worker/queue-hold.ts's QueueHold. */
export interface QueueHolder { hold(ms: number): Promise<void> }

/**
 * A processor's failure, as bouy hands it to BullMQ: a 429 (retryAfterOf) becomes BullMQ's
 * queue-wide rate limit for that long and puts the job back (`limited` is told first); any
 * other error stays as it is.
 */
export async function rateLimitOn429(hold: QueueHolder, error: unknown, limited: (retryAfterMs: number) => void): Promise<never> {
  const retryAfterMs = retryAfterOf(error);
  if (retryAfterMs === undefined) throw error;
  limited(retryAfterMs);
  await hold.hold(retryAfterMs);
  throw Worker.RateLimitError();
}

import { Worker, type Job } from 'bullmq';
import type { QueueHold } from './queue-hold.js';

/** The failure of a job past its timeout; BullMQ records its message and applies attempts/backoff. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}

export function timedOutMessage(timeoutMs: number): string {
  return `timed out after ${Math.round(timeoutMs / 100) / 10} s`;
}

/** A job's timeout in ms: its own `opts.timeout` (ms, as the api and `enqueue --timeout` set it), else JOB_TIMEOUT_SECONDS; 0 = none. */
export function jobTimeoutMs(job: Job, defaultSeconds: number): number {
  const own = (job.opts as { timeout?: unknown }).timeout;
  if (typeof own === 'number' && Number.isFinite(own) && own > 0) return own;
  return defaultSeconds * 1000;
}

export interface DeadlineHooks {
  /** Fires the job's AbortSignal (BullMQ's `worker.cancelJob`). */
  abort(reason: string): void;
  /** The job has failed by its deadline. */
  expired(): void;
  /** `graceMs` after the abort the processor still runs: it ignores its signal. */
  ignored(): void;
}

/**
 * Runs a job's processor against its deadline. BullMQ has no job timeout: past `timeoutMs` the
 * job fails with JobTimeoutError at once (its attempts and backoff apply) and its AbortSignal
 * fires, so a processor that honours it stops its call. One that does not keeps running in the
 * background; `ignored` is called after the grace period so its worker can be recycled (a blocked
 * event loop runs no timer at all: the supervisor watches that case, see job-deadlines.ts).
 */
export async function runWithDeadline<T>(work: () => Promise<T>, timeoutMs: number, graceMs: number, hooks: DeadlineHooks): Promise<T> {
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const running = Promise.resolve().then(work).finally(() => {
    settled = true;
    clearTimeout(graceTimer);
  });
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const message = timedOutMessage(timeoutMs);
      // Rejected before the abort: a processor that rejects on its signal must not win the race
      // with its own error (an AbortError) instead of the timeout.
      reject(new JobTimeoutError(message));
      hooks.abort(message);
      hooks.expired();
      graceTimer = setTimeout(() => { if (!settled) hooks.ignored(); }, graceMs);
    }, timeoutMs);
  });
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
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

/**
 * A processor's failure, as bouy hands it to BullMQ: a 429 (retryAfterOf) becomes BullMQ's
 * queue-wide rate limit for that long and puts the job back (`limited` is told first); any
 * other error stays as it is.
 */
export async function rateLimitOn429(hold: QueueHold, error: unknown, limited: (retryAfterMs: number) => void): Promise<never> {
  const retryAfterMs = retryAfterOf(error);
  if (retryAfterMs === undefined) throw error;
  limited(retryAfterMs);
  await hold.hold(retryAfterMs);
  throw Worker.RateLimitError();
}

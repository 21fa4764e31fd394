import type { Job } from 'bullmq';

/**
 * A job's timeout, everything both processes agree on. Where each half runs:
 *
 * - the worker runs the processor against its deadline (runWithDeadline, from
 *   worker/job-runs.ts): past it the job fails with JobTimeoutError and its AbortSignal
 *   fires; a processor that ignores the signal gets its worker recycled after the grace;
 * - the supervisor is told the deadline before the processor starts (IPC `job-deadline`,
 *   slot-lifecycle.ts `deadlineSet`) and kills a worker whose event loop is blocked past it and
 *   the grace (supervisor/watchdog.ts `overdueJobs`, slot-lifecycle.ts `killedForTimeout`);
 * - the registry then fails that job as timed out instead of counting a kill (Registry.reclaim).
 *
 * The unit, stated here once: a job's own `opts.timeout` is in **milliseconds** (the api's
 * `opts.timeout`, `./bouy enqueue --timeout` seconds × 1000), JOB_TIMEOUT_SECONDS in seconds.
 */

/** Longest `opts.timeout`: one day in ms, as JOB_TIMEOUT_SECONDS allows (86,400 s). */
export const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

/** `opts.timeout` (ms) for a timeout given in seconds (the CLI's `--timeout`). */
export function timeoutOptionOf(seconds: number): number {
  return Math.round(seconds * 1000);
}

/** The failure of a job past its timeout; BullMQ records its message and applies attempts/backoff. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}

export function timedOutMessage(timeoutMs: number): string {
  return `timed out after ${Math.round(timeoutMs / 100) / 10} s`;
}

/** A job's timeout in ms: its own `opts.timeout`, else JOB_TIMEOUT_SECONDS; 0 = none. */
export function jobTimeoutMs(job: Job, defaultSeconds: number): number {
  const own = (job.opts as { timeout?: unknown }).timeout;
  if (typeof own === 'number' && Number.isFinite(own) && own > 0) return own;
  return defaultSeconds * 1000;
}

/** A running job's deadline as the supervisor keeps it: when it is due, and the timeout it came from. */
export interface JobDeadline { readonly at: number; readonly timeoutMs: number }

export function deadlineOf(timeoutMs: number, now: number): JobDeadline {
  return { at: now + timeoutMs, timeoutMs };
}

/** Past its deadline and the grace, the worker has neither ended nor failed the job: its event loop is blocked. */
export function isOverdue(deadline: JobDeadline, graceMs: number, now: number): boolean {
  return now > deadline.at + graceMs;
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
 * event loop runs no timer at all: the supervisor watches that case, see supervisor/watchdog.ts).
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

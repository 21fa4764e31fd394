/**
 * Why a worker is replaced on purpose: past MAX_JOBS_PER_WORKER, past MAX_MEMORY_MB, asked, or
 * a timed-out job whose processor ignored its AbortSignal past the grace period.
 */
export type RecycleReason = 'max-jobs' | 'max-memory' | 'manual' | 'job-timeout';

/** One run of a processor's check() (CheckResult, when it ran), reported for /health. */
export interface CheckReport { queue: string; ok: boolean; detail?: string; hint?: string; checkedAt: number }

/**
 * Everything the supervisor and a worker process say to each other over the IPC channel.
 * One union per direction, so both sides are checked by the compiler.
 */

export type JobEvent =
  /** `timeoutMs`: the job's deadline, so the supervisor can act when the worker cannot (a blocked event loop). */
  | { kind: 'started'; queue: string; jobId: string; jobName: string; timeoutMs?: number }
  | { kind: 'finished'; queue: string; jobId: string; jobName: string; outcome: 'completed' | 'failed'; durationMs: number };

/** Worker → supervisor. */
export type WorkerMessage =
  /**
   * The worker's BullMQ workers are connected and consuming: the slot is ready. `settings` is
   * its effective configuration (for the verification banner); `lines` is how many log lines it
   * wrote before this message (for the start-up block).
   */
  | { type: 'ready'; name: string; settings: Record<string, unknown>; lines: number }
  /** Start-up failed (processor would not load, Redis refused): do not count as ready. */
  | { type: 'init-failed'; error: string; code?: string; hint?: string }
  /** A processor check() ran (at start, then every PROCESSOR_CHECK_SECONDS). */
  | ({ type: 'check' } & CheckReport)
  /** The job passed its timeout: its signal fired and it failed; the supervisor stops watching its deadline. */
  | { type: 'timed-out'; queue: string; jobId: string }
  /** Job starts and finishes, batched (see JobEventBatch): one message per batch, not per job. */
  | { type: 'jobs'; events: JobEvent[] }
  /** Past MAX_JOBS_PER_WORKER or MAX_MEMORY_MB: the supervisor answers with drain, or not at all. */
  | { type: 'recycle-request'; reason: RecycleReason; jobsDone: number; rssMb: number }
  /** The worker has stopped taking jobs and waits for its active ones. */
  | { type: 'draining' }
  /** Sent from a timer every heartbeat: its arrival proves the event loop still turns. */
  | { type: 'alive' }
  /**
   * The BullMQ Worker of `queue` keeps failing (`count` errors so far, the latest `error`).
   * Sent when it starts and then at most once a second while the count grows (ErrorWatch).
   */
  | { type: 'erroring'; queue: string; error: string; count: number }
  /** The BullMQ Worker of `queue` has gone ERROR_QUIET_MS without an error. */
  | { type: 'recovered'; queue: string };

/** Supervisor → worker. */
export type SupervisorMessage =
  /** Stop taking jobs, finish active ones, exit 0. */
  | { type: 'drain' }
  /** Stop now: give active jobs back to their queues, exit. */
  | { type: 'abort' }
  /** Take no new jobs (pause fetching), finish the running ones, stay up until drain or abort. */
  | { type: 'quiet' };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

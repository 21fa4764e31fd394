/**
 * Everything the supervisor and a worker process say to each other over the IPC channel, one
 * union per direction so both sides are checked by the compiler, and the timeouts the two
 * processes must keep in step.
 */
import type { RedisErrorKind } from './redis-errors.js';

/**
 * Why a worker is replaced on purpose: past MAX_JOBS_PER_WORKER, past MAX_MEMORY_MB, asked, or
 * a timed-out job whose processor ignored its AbortSignal past the grace period.
 */
export type RecycleReason = 'max-jobs' | 'max-memory' | 'manual' | 'job-timeout' | 'redis-unreachable';

/**
 * After the supervisor asks a worker to abort (a second signal, a hang), how long before it
 * kills the worker outright (supervisor/shutdown.ts).
 */
export const ABORT_GRACE_MS = 3000;

/**
 * An aborting worker exits by then even if Redis never answers (worker/worker-process.ts):
 * before ABORT_GRACE_MS, so it leaves on its own terms, its jobs handed back, rather than by
 * the SIGKILL that would leave them to the supervisor's reclaim.
 */
export const ABORT_EXIT_MS = ABORT_GRACE_MS - 200;

/** One run of a processor's check() (CheckResult, when it ran), reported for /health. */
export interface CheckReport { queue: string; ok: boolean; detail?: string; hint?: string; checkedAt: number }

/**
 * One kind of job (queue and name) in one worker over one report interval: what started, how
 * what finished ended, and how long it took, as counts to add (see worker/job-report.ts).
 */
export interface JobTally {
  queue: string;
  /** The job's name, or `other` past the worker's JOB_NAME_LIMIT distinct names. */
  name: string;
  started: number;
  completed: number;
  failed: number;
  /** Runs that ended by moving the job (BullMQ's DelayedError & co., a 429): neither outcome. */
  moved: number;
  totalMs: number;
  maxMs: number;
  /** Finished jobs per duration bucket: DURATION_BUCKETS_S, then one for anything longer. */
  buckets: number[];
}

/** A job running in a worker at the time of its report; `startedAt` is epoch ms. */
export interface RunningJob { queue: string; jobId: string; name: string; startedAt: number }

/** A worker's heartbeat, told to its supervisor (see the `alive` message). */
export interface WorkerBeat {
  state: string;
  completed: number;
  failed: number;
  /** Jobs running now. */
  active: number;
  /** How long its longest-down Redis connection has been down, in ms (0: all up). */
  redisDownMs: number;
}

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
  /**
   * Every REPORT_MS while jobs come and go (see JobReport): the tallies since the last report
   * and the jobs running now. The supervisor's work per second does not depend on the job rate.
   */
  | { type: 'report'; tallies: JobTally[]; running: RunningJob[] }
  /**
   * Sent before a job with a timeout runs, so the supervisor can act when the worker cannot
   * (a processor blocking the event loop would keep any later message from leaving).
   */
  | { type: 'job-deadline'; queue: string; jobId: string; timeoutMs: number }
  /** Past MAX_JOBS_PER_WORKER or MAX_MEMORY_MB: the supervisor answers with drain, or not at all. */
  | { type: 'recycle-request'; reason: RecycleReason; jobsDone: number; rssMb: number }
  /** The worker has stopped taking jobs and waits for its active ones. */
  | { type: 'draining' }
  /**
   * Sent from a timer every heartbeat: its arrival proves the event loop still turns. It carries
   * what the worker's registration shows (the supervisor writes every worker's heartbeat in one
   * round trip: registry/container-heartbeat.ts) and how long the worker's own Redis connections
   * have been down (0 while they are up), so a worker cut off from Redis still looks silent.
   */
  | ({ type: 'alive' } & WorkerBeat)
  /**
   * The BullMQ Worker of `queue` keeps failing (`count` errors so far, the latest `error`).
   * Sent when it starts and then at most once a second while the count grows (ErrorWatch).
   */
  | { type: 'erroring'; queue: string; error: string; count: number }
  /** The BullMQ Worker of `queue` has gone ERROR_QUIET_MS without an error. */
  | { type: 'recovered'; queue: string }
  /** Redis commands that failed since the last such message, by kind (at most one a second). */
  | { type: 'redis-errors'; counts: Partial<Record<RedisErrorKind, number>> };

/** In a pre-forked worker's environment (supervisor/prefork.ts): wait for `go` before starting. */
export const WAIT_FOR_GO = 'BOUY_WAIT_FOR_GO';

/** Supervisor → worker. */
export type SupervisorMessage =
  /** Stop taking jobs, finish active ones, exit 0. */
  | { type: 'drain' }
  /** Stop now: give active jobs back to their queues, exit. */
  | { type: 'abort' }
  /** Take no new jobs (pause fetching), finish the running ones, stay up until drain or abort. */
  | { type: 'quiet' }
  /** To a pre-forked worker (supervisor/prefork.ts), waiting with its modules loaded: start now. */
  | { type: 'go' }
  /** Its registration is gone from Redis (FLUSHALL, a prune): write it again in full. */
  | { type: 'register' };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

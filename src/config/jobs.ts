/**
 * The job side of the configuration: processor checks, job timeouts, queue-wide limits and the
 * default options of the jobs bouy enqueues. Parsed here, merged into the one frozen Config by
 * config.ts; the api and the CLI read `loadJobDefaults` alone.
 */
import { invalidConfiguration } from '../errors.js';
import { integer, number, oneOf, Problems, type Env } from './parse.js';
import { parseRateLimit, RATE_LIMIT_HELP, type RateLimit } from '../jobs/rate-limit.js';

export const PROCESSOR_CHECK_MODES = ['fail', 'warn'] as const;
export type ProcessorCheckMode = (typeof PROCESSOR_CHECK_MODES)[number];

/** BullMQ's own backoff strategies; a custom one needs the worker's `backoffStrategy`. */
export const BACKOFF_TYPES = ['exponential', 'fixed'] as const;
export interface Backoff { readonly type: (typeof BACKOFF_TYPES)[number]; readonly delay: number }

/** What a job gets unless it sets its own (`attempts`, `backoff` of BullMQ's JobsOptions). */
export interface JobDefaults {
  /** @defaultValue 1 (no retry) */
  readonly attempts: number;
  /** Delay between attempts; undefined: BullMQ retries at once. */
  readonly backoff: Backoff | undefined;
}

export interface JobSettings {
  /** A failing check() at start stops the service (exit 69), or only degrades it. @defaultValue fail */
  readonly processorCheck: ProcessorCheckMode;
  /** Seconds between check() runs in each worker; 0 = only at start. @defaultValue 0 */
  readonly processorCheckSeconds: number;
  /** A job running longer is aborted and fails "timed out after N s"; 0 = never. @defaultValue 0 */
  readonly jobTimeoutSeconds: number;
  /**
   * After the abort, how long a processor has to give up before its worker is recycled (it
   * ignores the signal) or killed (its event loop is blocked). @defaultValue 5
   */
  readonly jobTimeoutGraceSeconds: number;
  /**
   * BullMQ's lockDuration in seconds: a running job's lock, renewed every half of it. A job whose
   * lock lapses (Redis paused or unreachable that long) may run again elsewhere; its AbortSignal
   * fires with reason `lock lost`. @defaultValue 30
   */
  readonly jobLockSeconds: number;
  /** At most this many jobs of each queue at once, fleet-wide; undefined: no limit. */
  readonly globalConcurrency: number | undefined;
  /** Queue-wide rate limit; undefined: none. */
  readonly rateLimit: RateLimit | undefined;
  readonly jobDefaults: JobDefaults;
}

function rateLimit(env: Env, problems: Problems): RateLimit | undefined {
  const value = env.QUEUE_RATE_LIMIT?.trim();
  if (value === undefined || value === '') return undefined;
  const limit = parseRateLimit(value);
  if (!limit) problems.add('QUEUE_RATE_LIMIT', env.QUEUE_RATE_LIMIT, RATE_LIMIT_HELP);
  return limit;
}

const BACKOFF = /^(exponential|fixed):(\d{1,9})$/;

function backoff(env: Env, problems: Problems): Backoff | undefined {
  const value = env.JOB_BACKOFF?.trim();
  if (value === undefined || value === '') return undefined;
  const match = BACKOFF.exec(value);
  if (!match) {
    problems.add('JOB_BACKOFF', env.JOB_BACKOFF, `${BACKOFF_TYPES.join(' or ')}:<delay ms>, e.g. exponential:1000 (1 s, 2 s, 4 s …)`);
    return undefined;
  }
  return Object.freeze({ type: match[1] as Backoff['type'], delay: Number(match[2]) });
}

export function parseJobDefaults(env: Env, problems: Problems): JobDefaults {
  return Object.freeze({ attempts: integer(env, problems, 'JOB_ATTEMPTS', 1, 1, 100), backoff: backoff(env, problems) });
}

export function parseJobSettings(env: Env, problems: Problems): JobSettings {
  const concurrency = env.QUEUE_GLOBAL_CONCURRENCY?.trim() ? integer(env, problems, 'QUEUE_GLOBAL_CONCURRENCY', 0, 1, 100_000) : 0;
  return {
    processorCheck: oneOf(env, problems, 'PROCESSOR_CHECK', 'fail', PROCESSOR_CHECK_MODES),
    processorCheckSeconds: number(env, problems, 'PROCESSOR_CHECK_SECONDS', 0, 0, 86_400),
    jobTimeoutSeconds: number(env, problems, 'JOB_TIMEOUT_SECONDS', 0, 0, 86_400),
    jobTimeoutGraceSeconds: number(env, problems, 'JOB_TIMEOUT_GRACE_SECONDS', 5, 0.5, 3600),
    jobLockSeconds: number(env, problems, 'JOB_LOCK_SECONDS', 30, 1, 3600),
    globalConcurrency: concurrency > 0 ? concurrency : undefined,
    rateLimit: rateLimit(env, problems),
    jobDefaults: parseJobDefaults(env, problems),
  };
}

/** JOB_ATTEMPTS and JOB_BACKOFF alone, for the api and `./bouy enqueue` (exit 64 naming the variable). */
export function loadJobDefaults(env: Env): JobDefaults {
  const problems = new Problems();
  const defaults = parseJobDefaults(env, problems);
  if (problems.list.length > 0) throw invalidConfiguration(problems.list);
  return defaults;
}

/** The options a new job gets: the defaults, then whatever the job says itself. */
export function withJobDefaults<T extends { attempts?: number; backoff?: unknown }>(defaults: JobDefaults, opts: T | undefined): T & { attempts: number } {
  return {
    attempts: defaults.attempts,
    ...(defaults.backoff ? { backoff: { type: defaults.backoff.type, delay: defaults.backoff.delay } } : {}),
    ...opts,
  } as T & { attempts: number };
}

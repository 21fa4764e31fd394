import { createRequire } from 'node:module';
import { invalidConfiguration } from '../errors.js';
import { MIN_TOKEN_LENGTH } from '../http/credentials.js';
import { integer, number, Problems, text, type Env } from './parse.js';
import { describeRedis, redisSettings, type RedisTarget } from './redis-target.js';
import type { Schedule } from './schedules.js';
import { parseLeaderSettings, type LeaderSettings } from './scheduler.js';
import { describeRateLimit, parseJobSettings, type JobSettings } from './jobs.js';
import { availableCores, readCgroupFiles, type CgroupFiles } from './cgroup-limits.js';
import { parseWorkerCount, type WorkerScaling } from './worker-count.js';
import { describeQueues } from './queue-list.js';
import { parseSharedSettings, type SharedSettings } from './shared.js';

export { describeRedis, hashTag, redactUrl, type HostPort, type RedisAuth, type RedisSettings, type RedisTarget } from './redis-target.js';

export type { Schedule, WorkerScaling };

export { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel, type SharedSettings } from './shared.js';

/** Most worker processes one supervisor runs (WORKER_COUNT, resize, the admin routes). */
export const MAX_WORKERS = 20;
/** A registration or presence not renewed for this many heartbeats is stale (its process is gone). */
export const MISSED_HEARTBEATS = 3;

/**
 * The whole configuration of a supervisor, read once from the environment: the settings every
 * role shares (shared.ts), those of a process that may lead (scheduler.ts), the job side
 * (jobs.ts) and the rest below.
 */
export interface Config extends SharedSettings, LeaderSettings, JobSettings {
  /** Worker processes this supervisor starts with (WORKER_COUNT: N, auto, or MIN of MIN-MAX). @defaultValue 1 (1–20) */
  readonly workerCount: number;
  /** WORKER_COUNT's form: fixed, auto (from the CPU quota) or an autoscaled range, and why. */
  readonly workerScaling: WorkerScaling;
  /** Seconds between autoscaling decisions (WORKER_COUNT=MIN-MAX). @defaultValue 2 */
  readonly autoscaleIntervalSeconds: number;
  /** Spare capacity of a whole worker for this long drains one away (WORKER_COUNT=MIN-MAX). @defaultValue 30 */
  readonly autoscaleQuietSeconds: number;
  /** Jobs each worker runs at once. @defaultValue 1 */
  readonly concurrency: number;
  /** Module whose default export processes a job, for every queue; undefined: look up by queue name. */
  readonly processor: string | undefined;
  /**
   * PROCESSORS_DIR: the folder of one module per queue (`<queue>.ts|.mjs|.js`); undefined:
   * `processors/` in the working directory when it exists, else bouy's built-in processors
   * (see processorsDirectory in worker/load-processor.ts).
   */
  readonly processorsDir: string | undefined;
  /** @defaultValue 10 */
  readonly restartDelaySeconds: number;
  /** A worker that dies sooner than this after starting counts towards a crash loop. @defaultValue 5 */
  readonly minUptimeSeconds: number;
  /** Consecutive quick deaths after which a slot is in a crash loop. @defaultValue 3 */
  readonly crashLoopThreshold: number;
  /** Longest wait between restarts of a crash-looping slot. @defaultValue 300 */
  readonly crashLoopMaxDelaySeconds: number;
  /** Drain time after SIGTERM before stragglers are stopped. @defaultValue 25 */
  readonly shutdownTimeoutSeconds: number;
  /** Seconds between a worker's registry heartbeats; stale after three missed. @defaultValue 5 */
  readonly heartbeatSeconds: number;
  /** heartbeatSeconds × MISSED_HEARTBEATS in ms: a registration this old belongs to a dead process. */
  readonly staleAfterMs: number;
  /** /livez fails once this process has not reached Redis for this long (a half-open connection only a restart mends). */
  readonly livezRedisSeconds: number;
  /**
   * A worker whose event loop has not answered for this long is killed and replaced (Gunicorn's
   * `timeout`); its lock would have expired anyway. 0 = never. @defaultValue 60
   */
  readonly hangTimeoutSeconds: number;
  /** Recycle a worker after this many jobs (plus jitter); 0 = never. @defaultValue 0 */
  readonly maxJobsPerWorker: number;
  /** Up to this many extra jobs, random per worker, so a fleet does not recycle in step. @defaultValue 0 */
  readonly maxJobsJitter: number;
  /** Recycle a worker whose RSS passes this many MiB; 0 = never. @defaultValue 0 */
  readonly maxMemoryMb: number;
  /**
   * A job whose worker died while running it this many times is handed back; once more and it
   * fails ("killed its worker N times") instead of killing workers for ever. @defaultValue 2
   */
  readonly maxJobKills: number;
  /**
   * Distinct job names with their own statistics and /metrics labels; later names count as
   * `other` (names are chosen by clients: unbounded labels grow /metrics without end). @defaultValue 50
   */
  readonly jobNameLimit: number;
  /** Bearer token for the health server's /admin routes; unset = admin routes off. */
  readonly adminToken: string | undefined;
  /** Version of the image (or checkout) this process runs, published for fleet checks. */
  readonly imageVersion: string;
}

const PACKAGE_VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

function adminToken(env: Env, problems: Problems): string | undefined {
  const value = env.ADMIN_TOKEN;
  if (value === undefined || value === '') return undefined;
  if (value.length < MIN_TOKEN_LENGTH) {
    problems.add('ADMIN_TOKEN', '(hidden)', `at least ${MIN_TOKEN_LENGTH} characters, or unset to turn the admin routes off`);
    return undefined;
  }
  return value;
}

/**
 * Reads and validates every setting at once. Throws one BouyError (exit 64) listing every
 * problem, so nothing starts on a half-valid configuration.
 */
export function loadConfig(
  env: Env = process.env, isTty = Boolean(process.stdout.isTTY), cgroup: () => CgroupFiles = readCgroupFiles, cores: () => number = availableCores,
): Config {
  const problems = new Problems();
  const workerScaling = parseWorkerCount(env, problems, MAX_WORKERS, cgroup, cores);
  const processor = env.PROCESSOR?.trim();
  if (processor === '') problems.add('PROCESSOR', env.PROCESSOR, 'a path to a module whose default export processes a job, or unset');
  const processorsDir = env.PROCESSORS_DIR?.trim();
  if (processorsDir === '') problems.add('PROCESSORS_DIR', env.PROCESSORS_DIR, 'a folder holding one module per queue (<queue>.ts, .mjs or .js), or unset');

  const heartbeatSeconds = number(env, problems, 'HEARTBEAT_SECONDS', 5, 0.1, 3600);
  const own = {
    workerCount: workerScaling.min,
    workerScaling: Object.freeze(workerScaling),
    autoscaleIntervalSeconds: number(env, problems, 'AUTOSCALE_INTERVAL_SECONDS', 2, 0.1, 3600),
    autoscaleQuietSeconds: number(env, problems, 'AUTOSCALE_QUIET_SECONDS', 30, 0, 86400),
    concurrency: integer(env, problems, 'WORKER_CONCURRENCY', 1, 1, 1000),
    processor: processor ? processor : undefined,
    processorsDir: processorsDir ? processorsDir : undefined,
    restartDelaySeconds: number(env, problems, 'RESTART_DELAY_SECONDS', 10, 0, 3600),
    minUptimeSeconds: number(env, problems, 'MIN_UPTIME_SECONDS', 5, 0, 3600),
    crashLoopThreshold: integer(env, problems, 'CRASH_LOOP_THRESHOLD', 3, 1, 100),
    crashLoopMaxDelaySeconds: number(env, problems, 'CRASH_LOOP_MAX_DELAY_SECONDS', 300, 0, 86400),
    shutdownTimeoutSeconds: number(env, problems, 'SHUTDOWN_TIMEOUT_SECONDS', 25, 0, 86400),
    heartbeatSeconds,
    staleAfterMs: heartbeatSeconds * 1000 * MISSED_HEARTBEATS,
    hangTimeoutSeconds: number(env, problems, 'WORKER_HANG_TIMEOUT_SECONDS', 60, 0, 86400),
    livezRedisSeconds: number(env, problems, 'LIVEZ_REDIS_SECONDS', 60, 15, 86400),
    maxJobsPerWorker: integer(env, problems, 'MAX_JOBS_PER_WORKER', 0, 0, 1_000_000_000),
    maxJobsJitter: integer(env, problems, 'MAX_JOBS_JITTER', 0, 0, 1_000_000_000),
    maxMemoryMb: integer(env, problems, 'MAX_MEMORY_MB', 0, 0, 1_048_576),
    maxJobKills: integer(env, problems, 'MAX_JOB_KILLS', 2, 0, 1000),
    jobNameLimit: integer(env, problems, 'JOB_NAME_LIMIT', 50, 1, 10_000),
    adminToken: adminToken(env, problems),
    ...parseJobSettings(env, problems),
    imageVersion: text(env, problems, 'BOUY_IMAGE_VERSION', PACKAGE_VERSION),
  };
  // This role's own, then the leader's (a supervisor may lead), then the shared settings:
  // problems are listed in the order they are read.
  const config: Config = { ...own, ...parseLeaderSettings(env, problems), ...parseSharedSettings(env, problems, isTty) };
  if (problems.list.length > 0) {
    throw invalidConfiguration(problems.list);
  }
  return Object.freeze(config);
}

/** What a client of a fleet (the CLI's `workers`, `enqueue`) must agree on with its supervisors. */
export interface FleetSettings {
  /** Where the fleet's Redis is (REDIS_URL / REDIS_SENTINELS… / REDIS_CLUSTER_NODES). */
  readonly redis: RedisTarget;
  readonly keyPrefix: string;
  readonly bullPrefix: string;
  readonly heartbeatSeconds: number;
  readonly staleAfterMs: number;
}

/**
 * The fleet settings alone, validated as loadConfig does (exit 64 naming the variable), for
 * callers that are no bouy process themselves: the CLI reads the stack's .env, whose other
 * settings are the containers' business.
 */
export function loadFleetSettings(env: Env, overrides: { heartbeatSeconds?: number } = {}): FleetSettings {
  const problems = new Problems();
  const heartbeatSeconds = overrides.heartbeatSeconds ?? number(env, problems, 'HEARTBEAT_SECONDS', 5, 0.1, 3600);
  if (!(heartbeatSeconds >= 0.1 && heartbeatSeconds <= 3600)) problems.add('--heartbeat-seconds', String(heartbeatSeconds), 'a number from 0.1 to 3600');
  const redis = redisSettings(env, problems);
  const settings = {
    redis: redis.target,
    keyPrefix: redis.keyPrefix,
    bullPrefix: redis.bullPrefix,
    heartbeatSeconds,
    staleAfterMs: heartbeatSeconds * 1000 * MISSED_HEARTBEATS,
  };
  if (problems.list.length > 0) throw invalidConfiguration(problems.list);
  return Object.freeze(settings);
}

/** The settings every worker of a fleet should share; secrets redacted. */
export function sharedSettings(config: Config): Record<string, unknown> {
  return {
    redis: describeRedis(config.redis),
    prefixes: `${config.keyPrefix} ${config.bullPrefix}`,
    queues: describeQueues({ queues: config.queues, weights: config.queueWeights }),
    concurrency: config.concurrency,
    processor: config.processor ?? '(by queue name)',
    maxJobsPerWorker: config.maxJobsPerWorker,
    maxMemoryMb: config.maxMemoryMb,
    jobTimeoutSeconds: config.jobTimeoutSeconds,
    globalConcurrency: config.globalConcurrency ?? null,
    rateLimit: describeRateLimit(config.rateLimit),
    version: config.imageVersion,
  };
}

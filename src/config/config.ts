import { createRequire } from 'node:module';
import os from 'node:os';
import { invalidConfiguration } from '../errors.js';
import { MIN_TOKEN_LENGTH } from '../http/credentials.js';
import { boolean, integer, number, oneOf, Problems, text, type Env } from './parse.js';
import { describeRedis, redisSettings, type RedisTarget } from './redis-target.js';
import { parseSchedules, type Schedule } from './schedules.js';
import { describeRateLimit, parseJobSettings, type JobSettings } from './jobs.js';
import { availableCores, readCgroupFiles, type CgroupFiles } from './cgroup-limits.js';
import { parseWorkerCount, type WorkerScaling } from './worker-count.js';
import { describeQueues, parseQueueList } from './queue-list.js';

export { describeRedis, hashTag, redactUrl, type HostPort, type RedisAuth, type RedisSettings, type RedisTarget } from './redis-target.js';

export type { Schedule, WorkerScaling };

export const LOG_FORMATS = ['json', 'pretty'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Most worker processes one supervisor runs (WORKER_COUNT, resize, the admin routes). */
export const MAX_WORKERS = 20;
/** A registration or presence not renewed for this many heartbeats is stale (its process is gone). */
export const MISSED_HEARTBEATS = 3;

/** The whole configuration of a bouy process, read once from the environment (job side: jobs.ts). */
export interface Config extends JobSettings {
  /**
   * Which Redis: REDIS_URL, or the master named REDIS_SENTINEL_NAME that REDIS_SENTINELS
   * monitor, or the cluster of REDIS_CLUSTER_NODES (exactly one of the three).
   * @defaultValue `{ kind: 'url', url: 'redis://localhost:6379' }`
   */
  readonly redis: RedisTarget;
  /** Worker processes this supervisor starts with (WORKER_COUNT: N, auto, or MIN of MIN-MAX). @defaultValue 1 (1–20) */
  readonly workerCount: number;
  /** WORKER_COUNT's form: fixed, auto (from the CPU quota) or an autoscaled range, and why. */
  readonly workerScaling: WorkerScaling;
  /** Seconds between autoscaling decisions (WORKER_COUNT=MIN-MAX). @defaultValue 2 */
  readonly autoscaleIntervalSeconds: number;
  /** Spare capacity of a whole worker for this long drains one away (WORKER_COUNT=MIN-MAX). @defaultValue 30 */
  readonly autoscaleQuietSeconds: number;
  /** Queues each worker consumes, highest priority first (or in weighted order, see queueWeights). @defaultValue ['llm'] */
  readonly queues: readonly string[];
  /** QUEUE_NAME=a:3,b:1: each queue's share of fetches while several have work; undefined = strict priority. */
  readonly queueWeights: readonly number[] | undefined;
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
  /** @defaultValue true */
  readonly healthServer: boolean;
  /** @defaultValue 0.0.0.0 — a published container port must reach it */
  readonly healthHost: string;
  /** @defaultValue 8080 */
  readonly healthPort: number;
  /** Ports tried, in order from healthPort, when it is taken. @defaultValue 8080-8089 */
  readonly healthPortRange: readonly [number, number];
  /** Seconds between a worker's registry heartbeats; stale after three missed. @defaultValue 5 */
  readonly heartbeatSeconds: number;
  /** heartbeatSeconds × MISSED_HEARTBEATS in ms: a registration this old belongs to a dead process. */
  readonly staleAfterMs: number;
  /** /livez fails once this process has not reached Redis for this long (a half-open connection, issue 23). */
  readonly livezRedisSeconds: number;
  /**
   * A worker whose event loop has not answered for this long is killed and replaced (Gunicorn's
   * `timeout`); its lock would have expired anyway. 0 = never. @defaultValue 60
   */
  readonly hangTimeoutSeconds: number;
  /** Key prefix of bouy's own Redis keys (registry, leader). @defaultValue bouy */
  readonly keyPrefix: string;
  /** BullMQ's key prefix. @defaultValue bull */
  readonly bullPrefix: string;
  /** Host part of worker names. @defaultValue os.hostname() (the container id in Docker) */
  readonly hostname: string;
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
  /** Leader lease; a dead leader is replaced within this. @defaultValue 15 */
  readonly leaderTtlSeconds: number;
  /** Module whose default export `(ctx) => stop` runs only on the fleet's leader (migrations…). */
  readonly singletonModule: string | undefined;
  /** BullMQ job schedulers the leader keeps in place (SCHEDULES, JSON). @defaultValue [] */
  readonly schedules: readonly Schedule[];
  /** Version of the image (or checkout) this process runs, published for fleet checks. */
  readonly imageVersion: string;
  readonly logLevel: LogLevel;
  /** @defaultValue pretty on a terminal, json otherwise */
  readonly logFormat: LogFormat;
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

const PORT_RANGE = /^(\d{1,5})-(\d{1,5})$/;

function portRange(env: Env, problems: Problems): [number, number] {
  const value = env.HEALTH_PORT_RANGE?.trim();
  if (value === undefined) return [8080, 8089];
  const match = PORT_RANGE.exec(value);
  const low = Number(match?.[1]);
  const high = Number(match?.[2]);
  if (!match || low < 1 || high > 65535 || low > high) {
    problems.add('HEALTH_PORT_RANGE', env.HEALTH_PORT_RANGE, 'LOW-HIGH with 1 ≤ LOW ≤ HIGH ≤ 65535, e.g. 8080-8089');
    return [8080, 8089];
  }
  return [low, high];
}

/**
 * Reads and validates every setting at once. Throws one BouyError (exit 64) listing every
 * problem, so nothing starts on a half-valid configuration.
 */
export function loadConfig(
  env: Env = process.env, isTty = Boolean(process.stdout.isTTY), cgroup: () => CgroupFiles = readCgroupFiles, cores: () => number = availableCores,
): Config {
  const problems = new Problems();
  const problemsBefore = problems.list.length;
  const range = portRange(env, problems);
  const rangeOk = problems.list.length === problemsBefore;
  const healthPort = integer(env, problems, 'HEALTH_PORT', range[0], 1, 65535);
  // Against an invalid range the port would be judged by the default one: a second, wrong error.
  if (rangeOk && (healthPort < range[0] || healthPort > range[1])) {
    problems.add('HEALTH_PORT', env.HEALTH_PORT, `a port inside HEALTH_PORT_RANGE (${range[0]}-${range[1]})`);
  }
  const queueList = parseQueueList(env, problems);
  const workerScaling = parseWorkerCount(env, problems, MAX_WORKERS, cgroup, cores);
  const processor = env.PROCESSOR?.trim();
  if (processor === '') problems.add('PROCESSOR', env.PROCESSOR, 'a path to a module whose default export processes a job, or unset');
  const processorsDir = env.PROCESSORS_DIR?.trim();
  if (processorsDir === '') problems.add('PROCESSORS_DIR', env.PROCESSORS_DIR, 'a folder holding one module per queue (<queue>.ts, .mjs or .js), or unset');

  const heartbeatSeconds = number(env, problems, 'HEARTBEAT_SECONDS', 5, 0.1, 3600);
  const redis = redisSettings(env, problems);
  const config: Config = {
    redis: redis.target,
    workerCount: workerScaling.min,
    workerScaling: Object.freeze(workerScaling),
    autoscaleIntervalSeconds: number(env, problems, 'AUTOSCALE_INTERVAL_SECONDS', 2, 0.1, 3600),
    autoscaleQuietSeconds: number(env, problems, 'AUTOSCALE_QUIET_SECONDS', 30, 0, 86400),
    queues: queueList.queues,
    queueWeights: queueList.weights,
    concurrency: integer(env, problems, 'WORKER_CONCURRENCY', 1, 1, 1000),
    processor: processor ? processor : undefined,
    processorsDir: processorsDir ? processorsDir : undefined,
    restartDelaySeconds: number(env, problems, 'RESTART_DELAY_SECONDS', 10, 0, 3600),
    minUptimeSeconds: number(env, problems, 'MIN_UPTIME_SECONDS', 5, 0, 3600),
    crashLoopThreshold: integer(env, problems, 'CRASH_LOOP_THRESHOLD', 3, 1, 100),
    crashLoopMaxDelaySeconds: number(env, problems, 'CRASH_LOOP_MAX_DELAY_SECONDS', 300, 0, 86400),
    shutdownTimeoutSeconds: number(env, problems, 'SHUTDOWN_TIMEOUT_SECONDS', 25, 0, 86400),
    healthServer: boolean(env, problems, 'HEALTH_SERVER', true),
    healthHost: text(env, problems, 'HEALTH_HOST', '0.0.0.0'),
    healthPort,
    healthPortRange: Object.freeze(range),
    heartbeatSeconds,
    staleAfterMs: heartbeatSeconds * 1000 * MISSED_HEARTBEATS,
    hangTimeoutSeconds: number(env, problems, 'WORKER_HANG_TIMEOUT_SECONDS', 60, 0, 86400),
    livezRedisSeconds: number(env, problems, 'LIVEZ_REDIS_SECONDS', 60, 15, 86400),
    keyPrefix: redis.keyPrefix,
    bullPrefix: redis.bullPrefix,
    hostname: text(env, problems, 'BOUY_HOSTNAME', os.hostname(), /^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . -'),
    maxJobsPerWorker: integer(env, problems, 'MAX_JOBS_PER_WORKER', 0, 0, 1_000_000_000),
    maxJobsJitter: integer(env, problems, 'MAX_JOBS_JITTER', 0, 0, 1_000_000_000),
    maxMemoryMb: integer(env, problems, 'MAX_MEMORY_MB', 0, 0, 1_048_576),
    maxJobKills: integer(env, problems, 'MAX_JOB_KILLS', 2, 0, 1000),
    jobNameLimit: integer(env, problems, 'JOB_NAME_LIMIT', 50, 1, 10_000),
    adminToken: adminToken(env, problems),
    leaderTtlSeconds: number(env, problems, 'LEADER_TTL_SECONDS', 15, 2, 3600),
    singletonModule: env.SINGLETON_MODULE?.trim() ? env.SINGLETON_MODULE.trim() : undefined,
    schedules: parseSchedules(env, problems),
    ...parseJobSettings(env, problems),
    imageVersion: text(env, problems, 'BOUY_IMAGE_VERSION', PACKAGE_VERSION),
    logLevel: oneOf(env, problems, 'LOG_LEVEL', 'info', LOG_LEVELS),
    logFormat: oneOf(env, problems, 'LOG_FORMAT', isTty ? 'pretty' : 'json', LOG_FORMATS),
  };
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

/**
 * The settings every role reads (supervisor, scheduler, api, dashboard): which Redis and key
 * prefixes, which queues, the host name, the bind address default and the log. Each role loads
 * these plus its own (config.ts for the supervisor and scheduler, api.ts, dashboard.ts), every
 * problem reported at once, so a setting only the workers read never stops the api.
 */
import os from 'node:os';
import { oneOf, text, type Env, type Problems } from './parse.js';
import { parseQueueList } from './queue-list.js';
import { redisSettings, type RedisTarget } from './redis-target.js';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface SharedSettings {
  /**
   * Which Redis: REDIS_URL, or the master named REDIS_SENTINEL_NAME that REDIS_SENTINELS
   * monitor, or the cluster of REDIS_CLUSTER_NODES (exactly one of the three).
   * @defaultValue `{ kind: 'url', url: 'redis://localhost:6379' }`
   */
  readonly redis: RedisTarget;
  /** Key prefix of bouy's own Redis keys (registry, leader). @defaultValue bouy */
  readonly keyPrefix: string;
  /** BullMQ's key prefix. @defaultValue bull */
  readonly bullPrefix: string;
  /** Queues each worker consumes, highest priority first (or in weighted order, see queueWeights). @defaultValue ['llm'] */
  readonly queues: readonly string[];
  /** QUEUE_NAME=a:3,b:1: each queue's share of fetches while several have work; undefined = strict priority. */
  readonly queueWeights: readonly number[] | undefined;
  /** Host part of worker names and every log line's `host`. @defaultValue os.hostname() (the container id in Docker) */
  readonly hostname: string;
  /** Bind address of the health server, and of the api and dashboard unless they name their own. @defaultValue 0.0.0.0 — a published container port must reach it */
  readonly healthHost: string;
  readonly logLevel: LogLevel;
  /** @defaultValue pretty on a terminal, json otherwise */
  readonly logFormat: LogFormat;
}

/** Reads the shared settings; problems added to `problems`. */
export function parseSharedSettings(env: Env, problems: Problems, isTty: boolean): SharedSettings {
  const queueList = parseQueueList(env, problems);
  const redis = redisSettings(env, problems);
  return {
    redis: redis.target,
    keyPrefix: redis.keyPrefix,
    bullPrefix: redis.bullPrefix,
    queues: queueList.queues,
    queueWeights: queueList.weights,
    healthHost: text(env, problems, 'HEALTH_HOST', '0.0.0.0'),
    hostname: text(env, problems, 'BOUY_HOSTNAME', os.hostname(), /^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . -'),
    logLevel: oneOf(env, problems, 'LOG_LEVEL', 'info', LOG_LEVELS),
    logFormat: oneOf(env, problems, 'LOG_FORMAT', isTty ? 'pretty' : 'json', LOG_FORMATS),
  };
}

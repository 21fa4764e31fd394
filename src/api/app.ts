import type { JobDefaults } from '../config/jobs.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { RedisOptions } from 'ioredis';
import type { RedisClient as Redis } from '../redis.js';
import type { Logger } from '../log.js';
import { healthPlugin, redisReadiness } from '../health/health-plugin.js';
import { writeProbeKey } from '../health/write-probe.js';
import { answerErrors } from './answers.js';
import { requireBearerToken } from './auth.js';
import { addJobRoutes } from './jobs.js';
import { useBoundedJsonParser } from './json-body.js';
import { BODY_LIMIT_BYTES } from './schema.js';
import { AJV_OPTIONS, formatValidation } from '../http/strict-schema.js';
import { openQueue } from '../queue.js';

/**
 * The api's Redis connection fails fast instead of waiting for Redis: no offline queue (a
 * command while disconnected is refused at once), a deadline per command, and nothing resent
 * after a reconnect — a request the client was told failed must not be written later.
 */
export const API_REDIS_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  commandTimeout: 1500,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
};

export interface ApiAppOptions {
  /** A connection made with API_REDIS_OPTIONS. */
  redis: Redis;
  queues: readonly string[];
  bullPrefix: string;
  /** KEY_PREFIX: where /readyz's write probe goes (see writeProbe). */
  keyPrefix: string;
  log: Logger;
  /** Bearer token for every route but the probes; undefined: no authentication. */
  token: string | undefined;
  /** JOB_ATTEMPTS / JOB_BACKOFF: what a job gets unless its opts say otherwise. @defaultValue 1 attempt, no backoff */
  jobDefaults?: JobDefaults;
  /** BOUY_HOSTNAME, shown in /health. */
  hostname?: string;
}

export interface ApiApp {
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The api as a Fastify app, not yet listening (the service listens; tests may build one on a
 * port of their own). Strict validation, bounded JSON, the token, deliberate error answers,
 * the probes and the job routes.
 */
export async function buildApiApp(options: ApiAppOptions): Promise<ApiApp> {
  const { redis } = options;
  // Fastify's logger type, so that Fastify() infers the instance the routes are written against.
  const log: FastifyBaseLogger = options.log;
  const queues = new Map(options.queues.map((name) => [name, openQueue(name, redis, options.bullPrefix)]));
  const app = Fastify({
    loggerInstance: log, logController: new LogController({ disableRequestLogging: true }), bodyLimit: BODY_LIMIT_BYTES, ajv: AJV_OPTIONS, schemaErrorFormatter: formatValidation,
    // a job id may be 200 characters, percent-encoded up to 12 bytes each in a GET's path
    routerOptions: { maxParamLength: 2400 },
  });
  useBoundedJsonParser(app);
  if (options.token !== undefined) await requireBearerToken(app, options.token, ['/livez', '/readyz']);
  answerErrors(app);
  await app.register(healthPlugin, { ready: redisReadiness(redis, writeProbeKey(options.keyPrefix)), identity: { service: 'api', hostname: options.hostname } });
  addJobRoutes(app, queues, redis, options.bullPrefix, options.jobDefaults ?? { attempts: 1, backoff: undefined });
  return {
    app,
    async close() {
      await app.close();
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

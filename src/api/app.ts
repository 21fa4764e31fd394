import bearerAuth from '@fastify/bearer-auth';
import { Queue, type Job } from 'bullmq';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Redis, RedisOptions } from 'ioredis';
import { sameSecret } from '../http/credentials.js';
import type { Logger } from '../log.js';
import { addProbes } from '../services/service-kit.js';
import { canBeJobId, jobIdProblem } from './job-id.js';
import {
  AJV_OPTIONS, BODY_LIMIT_BYTES, enqueueSchema, formatValidation, jsonDepthExceeds, MAX_JSON_DEPTH, type EnqueueBody,
} from './schema.js';

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

/** Seconds a client is asked to wait (Retry-After) when Redis is away. */
export const RETRY_AFTER_SECONDS = 2;

const REDIS_AWAY = /Stream isn't writeable|Command timed out|Connection is closed|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Reached the max retries/;

export interface ApiAppOptions {
  redis: Redis;
  queues: readonly string[];
  bullPrefix: string;
  log: Logger;
  /** Bearer token for every route but the probes; undefined: no authentication. */
  token: string | undefined;
}

export interface ApiApp {
  app: FastifyInstance;
  close(): Promise<void>;
}

const PUBLIC_ROUTES = new Set(['/livez', '/readyz']);

/**
 * The api as a Fastify app, not yet listening: POST /jobs/:queue enqueues, GET
 * /jobs/:queue/:id reads a job's state. Every answer is deliberate: 4xx naming what is wrong,
 * 503 with Retry-After while Redis is away, and a 500 (a bug) is logged.
 */
export async function buildApiApp(options: ApiAppOptions): Promise<ApiApp> {
  const { redis, log } = options;
  const queues = new Map(options.queues.map((name) => [name, new Queue(name, { connection: redis, prefix: options.bullPrefix })]));
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: BODY_LIMIT_BYTES, ajv: AJV_OPTIONS, schemaErrorFormatter: formatValidation,
    // a job id may be 200 characters, percent-encoded up to 12 bytes each in a GET's path
    routerOptions: { maxParamLength: 2400 },
  });

  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = String(body);
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      done(Object.assign(new Error(`body is nested more than ${MAX_JSON_DEPTH} levels deep`), { statusCode: 400 }), undefined);
      return;
    }
    parseJson(request, text, done);
  });

  if (options.token !== undefined) {
    const token = options.token;
    // sameSecret: constant time whatever the length of what was sent
    await app.register(bearerAuth, { keys: [], auth: (given: string) => sameSecret(given, token), addHook: false, verifyErrorLogLevel: 'debug' });
    app.addHook('onRequest', (request, reply, done) => {
      if (PUBLIC_ROUTES.has(request.routeOptions.url ?? '')) return done();
      app.verifyBearerAuth!(request, reply, done);
    });
  }

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (REDIS_AWAY.test(error.message) || error.name === 'MaxRetriesPerRequestError') {
      request.log.debug({ method: request.method, url: request.url, reason: error.message }, 'api request refused: Redis unavailable');
      // Not connected: nothing was sent. Timed out: Redis holds the command and may yet apply it.
      const outcome = /timed out/.test(error.message) ? 'Redis did not answer in time, so whether it took the request is unknown' : 'Redis is not reachable; nothing was written';
      return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({
        error: 'redis unavailable',
        message: `${outcome}: retry in ${RETRY_AFTER_SECONDS} s (with opts.jobId a retry never adds the job twice)`,
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error, method: request.method, url: request.url }, `api ${request.method} ${request.url} failed: ${error.message}`);
      return reply.code(500).send({ error: 'internal error', message: 'the api failed to handle this request; its log says why' });
    }
    if (status === 401) return reply.code(401).send({ error: 'unauthorized', message: 'this route needs `Authorization: Bearer <API_TOKEN>`' });
    return reply.code(status).send({ error: error.code ?? 'bad request', message: error.message });
  });

  addProbes(app, redis);
  const unknownQueue = (queue: string) => ({ error: 'unknown queue', message: `queue ${JSON.stringify(queue)} is not served here; queues: ${options.queues.join(', ')}` });
  const describe = async (job: Job, queue: string) => ({
    id: job.id, queue, name: job.name, state: await job.getState(), attempts_made: job.attemptsMade,
    result: job.returnvalue ?? null, failed_reason: job.failedReason ?? null,
  });

  app.post<{ Params: { queue: string }; Body: EnqueueBody }>('/jobs/:queue', { schema: enqueueSchema }, async (request, reply) => {
    const queue = queues.get(request.params.queue);
    if (!queue) return reply.code(404).send(unknownQueue(request.params.queue));
    const { name = 'job', data, opts = {} } = request.body;
    const problem = opts.jobId === undefined ? undefined : jobIdProblem(opts.jobId);
    if (problem) return reply.code(400).send({ error: 'bad request', message: `body.${problem}` });
    const job = await queue.add(name, data, opts);
    if (opts.jobId !== undefined) {
      // BullMQ answers a duplicate id with the id and adds nothing: is the stored job ours? (Two
      // identical requests in the same millisecond are told apart by nothing, and both get 202.)
      const [timestamp, storedName, storedData] = await redis.hmget(`${options.bullPrefix}:${queue.name}:${job.id}`, 'timestamp', 'name', 'data');
      const ours = Number(timestamp) === job.timestamp && storedName === name && storedData === JSON.stringify(data);
      if (timestamp !== null && !ours) {
        const existing = await queue.getJob(job.id!);
        if (existing) return reply.code(200).send({ ...(await describe(existing, queue.name)), duplicate: true });
      }
    }
    return reply.code(202).send({ id: job.id, queue: queue.name, name });
  });

  app.get<{ Params: { queue: string; id: string } }>('/jobs/:queue/:id', async (request, reply) => {
    const queue = queues.get(request.params.queue);
    if (!queue) return reply.code(404).send(unknownQueue(request.params.queue));
    const { id } = request.params;
    const job = canBeJobId(id) ? await queue.getJob(id) : undefined;
    if (!job) return reply.code(404).send({ error: 'not found', message: `no job ${JSON.stringify(id)} in queue ${queue.name}` });
    return describe(job, queue.name);
  });

  return {
    app,
    async close() {
      await app.close();
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

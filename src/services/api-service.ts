import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { loadConfig } from '../config/config.js';
import type { Service } from './service.js';
import { addProbes, portFromEnv, startRole, untilShutdownSignal } from './service-kit.js';

/** Largest job payload accepted: Redis holds every job, and a queue is not a blob store. */
const BODY_LIMIT_BYTES = 1024 * 1024;

interface EnqueueBody {
  name?: string;
  data: Record<string, unknown>;
  opts?: { delay?: number; attempts?: number; priority?: number; jobId?: string };
}

const enqueueSchema = {
  params: { type: 'object', properties: { queue: { type: 'string' } }, required: ['queue'] },
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['data'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 200 },
      data: { type: 'object' },
      opts: {
        type: 'object',
        additionalProperties: false,
        properties: {
          delay: { type: 'integer', minimum: 0 },
          attempts: { type: 'integer', minimum: 1, maximum: 100 },
          priority: { type: 'integer', minimum: 0, maximum: 2097152 },
          jobId: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^:]+$' },
        },
      },
    },
  },
};

/**
 * The `api` service: the HTTP side of the application in its smallest form — enqueue a job
 * (POST /jobs/:queue) and read its state (GET /jobs/:queue/:id) on API_PORT (8000). Bad
 * payloads get 400 naming the field; unknown queues 404 listing the known ones.
 */
export const apiService: Service = {
  description: 'HTTP API to enqueue jobs and read their state on API_PORT (8000)',
  async run() {
    const config = loadConfig();
    const port = portFromEnv('API_PORT', 8000);
    const { log, redis } = await startRole(config, 'api');
    const queues = new Map(config.queues.map((name) => [name, new Queue(name, { connection: redis, prefix: config.bullPrefix })]));
    const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES });
    const unknownQueue = (queue: string) => ({ error: 'unknown queue', message: `queue ${JSON.stringify(queue)} is not served here; queues: ${config.queues.join(', ')}` });

    addProbes(app, redis);
    app.post<{ Params: { queue: string }; Body: EnqueueBody }>('/jobs/:queue', { schema: enqueueSchema }, async (request, reply) => {
      const queue = queues.get(request.params.queue);
      if (!queue) return reply.code(404).send(unknownQueue(request.params.queue));
      const { name = 'job', data, opts = {} } = request.body;
      const job = await queue.add(name, data, opts);
      return reply.code(202).send({ id: job.id, queue: queue.name, name });
    });
    app.get<{ Params: { queue: string; id: string } }>('/jobs/:queue/:id', async (request, reply) => {
      const queue = queues.get(request.params.queue);
      if (!queue) return reply.code(404).send(unknownQueue(request.params.queue));
      const job = await queue.getJob(request.params.id);
      if (!job) return reply.code(404).send({ error: 'not found', message: `no job ${request.params.id} in queue ${queue.name}` });
      return {
        id: job.id, queue: queue.name, name: job.name, state: await job.getState(), attempts_made: job.attemptsMade,
        result: job.returnvalue ?? null, failed_reason: job.failedReason ?? null,
      };
    });

    await app.listen({ host: config.healthHost, port });
    log.info({ port, queues: config.queues }, `api on http://${config.healthHost}:${port}/`);
    await untilShutdownSignal();
    await app.close();
    await Promise.all([...queues.values()].map((q) => q.close()));
    redis.disconnect();
    return 0;
  },
};

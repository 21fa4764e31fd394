import type { Job, Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { RedisClient as Redis } from '../redis.js';
import { canBeJobId, jobIdProblem } from './job-id.js';
import { enqueueSchema, type EnqueueBody } from './schema.js';
import { withJobDefaults, type JobDefaults } from '../config/jobs.js';

/**
 * POST /jobs/:queue (202 enqueued, 200 when opts.jobId is already taken) and GET
 * /jobs/:queue/:id (the job's state), over the queues this api serves.
 */
export function addJobRoutes(app: FastifyInstance, queues: ReadonlyMap<string, Queue>, redis: Redis, bullPrefix: string, defaults: JobDefaults): void {
  const unknownQueue = (queue: string) => ({ error: 'unknown queue', message: `queue ${JSON.stringify(queue)} is not served here; queues: ${[...queues.keys()].join(', ')}` });
  const describe = async (job: Job<unknown, unknown>, queue: string) => ({
    id: job.id, queue, name: job.name, state: await job.getState(), attempts_made: job.attemptsMade,
    result: job.returnvalue ?? null, failed_reason: job.failedReason ?? null,
  });

  app.post<{ Params: { queue: string }; Body: EnqueueBody }>('/jobs/:queue', { schema: enqueueSchema }, async (request, reply) => {
    const queue = queues.get(request.params.queue);
    if (!queue) return reply.code(404).send(unknownQueue(request.params.queue));
    const { name = 'job', data, opts = {} } = request.body;
    const problem = opts.jobId === undefined ? undefined : jobIdProblem(opts.jobId);
    if (problem) return reply.code(400).send({ error: 'bad request', message: `body.${problem}` });
    const job = await queue.add(name, data, withJobDefaults(defaults, opts));
    if (opts.jobId !== undefined) {
      // BullMQ answers a duplicate id with the id and adds nothing: is the stored job ours? (Two
      // identical requests in the same millisecond are told apart by nothing, and both get 202.)
      const [timestamp, storedName, storedData] = await redis.hmget(`${bullPrefix}:${queue.name}:${job.id}`, 'timestamp', 'name', 'data');
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
}

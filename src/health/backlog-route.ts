import type { FastifyInstance } from 'fastify';
import type { RedisClient as Redis } from '../redis.js';
import type { Config } from '../config/config.js';
import { readQueueBacklog, type QueueBacklog } from './queue-backlog.js';
import { openQueue } from '../queue.js';

const READ_REDIS_MS = 1000;

/**
 * `GET /backlog`: the queues' backlog as JSON for KEDA's metrics-api scaler
 * (`valueLocation: backlog`). The numbers are queue-wide (read from Redis), so every worker
 * pod answers the same and the scaler may ask any of them through the Service:
 *
 *   {"queues": {"llm": {"waiting": 3, "prioritized": 1, "delayed": 2, "active": 4, "backlog": 10}}, "backlog": 10}
 *
 * When Redis does not answer, 503 rather than a zero: an autoscaler reading 0 would scale the
 * fleet in; an error makes KEDA keep its fallback replica count instead.
 */
export function registerBacklogRoute(app: FastifyInstance, config: Config, redis: Redis): void {
  const queues = config.queues.map((name) => openQueue(name, redis, config.bullPrefix));
  app.addHook('onClose', async () => {
    await Promise.all(queues.map((queue) => queue.close()));
  });
  app.get('/backlog', async (_request, reply) => {
    const read = await Promise.all(queues.map(async (queue) => [queue.name, await readQueueBacklog(queue, READ_REDIS_MS)] as const));
    const missing = read.filter(([, backlog]) => backlog === undefined).map(([name]) => name);
    if (missing.length > 0) {
      reply.header('Retry-After', '5');
      return reply.code(503).send({ error: 'redis unavailable', message: `could not read the backlog of ${missing.join(', ')} from Redis` });
    }
    const byQueue = Object.fromEntries(read) as Record<string, QueueBacklog>;
    return { queues: byQueue, backlog: Object.values(byQueue).reduce((sum, queue) => sum + queue.backlog, 0) };
  });
}

import type { FastifyInstance } from 'fastify';
import type { Queue } from 'bullmq';
import { bearerMatches } from '../http/credentials.js';
import { readFleetBacklog } from './queue-backlog.js';
import { windowFromQuery, type BacklogSettings } from './backlog-settings.js';
import { RETRY_AFTER_SECONDS } from './health-plugin.js';
import type { SharedSettings } from '../config/shared.js';
import type { RedisClient as Redis } from '../redis.js';
import { openQueue } from '../queue.js';

const READ_REDIS_MS = 1000;

/**
 * `GET /backlog[?window=<seconds>]`: the queues' backlog as JSON for KEDA's metrics-api scaler
 * (`valueLocation: slots`). The numbers are queue-wide (read from Redis), so every process
 * serving it answers the same: the scheduler, which stays up while no worker runs (scale to
 * zero), and every worker's health server.
 *
 *   {"window_s": 15, "queues": {"llm": {"waiting": 3, "prioritized": 1, "delayed_due": 1,
 *    "delayed_later": 80, "active": 4, "paused": false, "ready": 5, "backlog": 9,
 *    "global_concurrency": 6, "rate_limit": null, "rate_limit_starts": null, "slots": 6}},
 *    "backlog": 9, "slots": 6}
 *
 * When Redis does not answer, 503 rather than a zero: an autoscaler reading 0 would scale the
 * fleet in; an error makes KEDA keep its fallback replica count instead. With BACKLOG_TOKEN
 * set it takes `Authorization: Bearer <BACKLOG_TOKEN>` (KEDA: a TriggerAuthentication).
 */
export function registerBacklogRoute(app: FastifyInstance, queues: readonly Queue[], settings: BacklogSettings): void {
  app.get('/backlog', async (request, reply) => {
    if (settings.token !== undefined) {
      if (!bearerMatches(request.headers.authorization, settings.token)) {
        return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ error: 'unauthorized', message: '/backlog needs `Authorization: Bearer <BACKLOG_TOKEN>`' });
      }
    }
    const window = windowFromQuery((request.query as Record<string, unknown>).window, settings.windowSeconds);
    if (typeof window !== 'number') return reply.code(400).send({ error: 'bad request', message: window.error });
    const read = await readFleetBacklog(queues, window * 1000, READ_REDIS_MS);
    if ('missing' in read) {
      reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
      return reply.code(503).send({ error: 'redis unavailable', message: `could not read the backlog of ${read.missing.join(', ')} from Redis` });
    }
    return read.backlog;
  });
}

/** The QUEUE_NAME queues on `redis`, for the backlog route and gauges of `app`; closed with it. */
export function openBacklogQueues(app: FastifyInstance, config: SharedSettings, redis: Redis): Queue[] {
  const queues = config.queues.map((name) => openQueue(name, redis, config.bullPrefix));
  app.addHook('onClose', async () => {
    await Promise.all(queues.map((queue) => queue.close()));
  });
  return queues;
}

import type { FastifyInstance } from 'fastify';
import { MAX_WORKERS } from '../config/config.js';
import { bearerMatches } from '../http/credentials.js';
import type { WorkerPool } from '../supervisor/pool.js';

/**
 * Operator actions over HTTP, only when ADMIN_TOKEN is set (otherwise the routes do not exist):
 * recycle one worker or all (rolling), change the number of workers, and go quiet. `app` must
 * validate with AJV_OPTIONS (buildHealthApp does): a body is taken exactly as its schema says.
 */
export function registerAdminRoutes(app: FastifyInstance, supervisor: WorkerPool, token: string): void {
  app.register(async (admin) => {
    admin.addHook('onRequest', async (request, reply) => {
      if (!bearerMatches(request.headers.authorization, token)) {
        return reply.code(401).send({ error: 'unauthorized', message: 'send Authorization: Bearer <ADMIN_TOKEN>' });
      }
    });

    admin.post<{ Body: { worker?: number | 'all' } }>('/admin/recycle', {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            worker: { description: `an integer from 1 to ${MAX_WORKERS} or "all"`, anyOf: [{ type: 'integer', minimum: 1, maximum: MAX_WORKERS }, { const: 'all' }] },
          },
        },
      },
    }, async (request, reply) => {
      const target = request.body?.worker ?? 'all';
      const workers = supervisor.view();
      if (target !== 'all' && !workers.some((w) => w.index === target)) {
        return reply.code(404).send({ error: 'not found', message: `no worker with index ${target}; workers are ${workers.map((w) => w.index).join(', ')}` });
      }
      // A rolling recycle of all takes as long as the slowest drain: answer now, work on.
      const recycling = supervisor.recycle(target);
      const started = target === 'all' ? workers.map((w) => w.name) : await recycling;
      return reply.code(202).send({ recycling: started, rolling: target === 'all' });
    });

    admin.post<{ Body: { workers: number } }>('/admin/scale', {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['workers'],
          properties: { workers: { type: 'integer', minimum: 1, maximum: MAX_WORKERS } },
        },
      },
    }, async (request) => ({ workers: supervisor.scaleTo(request.body.workers) }));

    // Quiet until SIGTERM (no way back, as Sidekiq's): 202 when this asked, 200 when it already was.
    admin.post('/admin/quiet', async (_request, reply) => {
      if (supervisor.stopping) return reply.code(409).send({ error: 'conflict', message: 'the supervisor is shutting down' });
      const changed = supervisor.quiet('POST /admin/quiet');
      return reply.code(changed ? 202 : 200).send({ quiet: true, already: !changed });
    });
  }, {});
}

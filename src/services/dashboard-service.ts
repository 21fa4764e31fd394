import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { loadConfig } from '../config/config.js';
import type { Service } from './service.js';
import { addProbes, portFromEnv, startRole, untilShutdownSignal } from './service-kit.js';

/**
 * The `dashboard` service: bull-board over the queues of QUEUE_NAME on DASHBOARD_PORT (9181,
 * where the original stack's RQ dashboard was), plus /livez and /readyz for the orchestrator.
 */
export const dashboardService: Service = {
  description: 'bull-board web dashboard of the QUEUE_NAME queues on DASHBOARD_PORT (9181)',
  async run() {
    const config = loadConfig();
    const port = portFromEnv('DASHBOARD_PORT', 9181);
    const { log, redis } = await startRole(config, 'dashboard');
    const queues = config.queues.map((name) => new Queue(name, { connection: redis, prefix: config.bullPrefix }));
    const board = new FastifyAdapter();
    board.setBasePath('/');
    createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });
    const app = Fastify({ logger: false });
    addProbes(app, redis);
    await app.register(board.registerPlugin(), { prefix: '/' });
    await app.listen({ host: config.healthHost, port });
    log.info({ port, queues: config.queues }, `dashboard on http://${config.healthHost}:${port}/`);

    await untilShutdownSignal();
    await app.close();
    await Promise.all(queues.map((q) => q.close()));
    redis.disconnect();
    return 0;
  },
};

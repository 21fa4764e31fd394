import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import Fastify from 'fastify';
import { loadDashboardSettings } from '../config/dashboard.js';
import { healthPlugin, redisReadiness } from '../health/health-plugin.js';
import { registerFleetPage } from '../dashboard/fleet-page.js';
import { requireBasicAuth } from './dashboard-auth.js';
import { withReleasers } from './releasers.js';
import type { Service } from './service.js';
import { startRole, untilShutdownSignal } from './service-kit.js';
import { openQueue } from '../queue.js';

/**
 * The `dashboard` service: bull-board over the queues of QUEUE_NAME on DASHBOARD_HOST (default
 * HEALTH_HOST) and DASHBOARD_PORT (9181, where the original stack's RQ dashboard was), plus
 * /livez and /readyz for the orchestrator. bull-board can delete and retry jobs, so the page and
 * its API need HTTP Basic (DASHBOARD_USER/DASHBOARD_PASSWORD) unless bound to loopback or
 * DASHBOARD_AUTH=none; the probes stay open.
 */
export const dashboardService: Service = {
  description: 'bull-board web dashboard of the QUEUE_NAME queues on DASHBOARD_PORT (9181)',
  run: () => withReleasers(async (releasers) => {
    const config = loadDashboardSettings();
    const { dashboardHost: host, dashboardPort: port, auth } = config;
    const { log, redis } = await startRole(config, 'dashboard', releasers);
    const queues = config.queues.map((name) => openQueue(name, redis, config.bullPrefix));
    releasers.add('queues', () => Promise.all(queues.map((q) => q.close())));
    const board = new FastifyAdapter();
    board.setBasePath('/');
    createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });
    const app = Fastify({ logger: false });
    releasers.add('dashboard server', () => app.close());
    if (auth.kind === 'basic') await requireBasicAuth(app, auth.user, auth.password, ['/livez', '/readyz']);
    await app.register(healthPlugin, { ready: redisReadiness(redis), identity: { service: 'dashboard', hostname: config.hostname } });
    registerFleetPage(app, redis, config.keyPrefix); // /fleet: the workers, beside bull-board's queues
    await app.register(board.registerPlugin(), { prefix: '/' });
    await app.listen({ host, port });
    if (auth.kind === 'basic') {
      log.info({ host, port, queues: config.queues, auth: 'basic', user: auth.user }, `dashboard on http://${host}:${port}/ (HTTP Basic: user ${auth.user}, password DASHBOARD_PASSWORD)`);
    } else {
      log.warn({ host, port, queues: config.queues, auth: 'none' }, `dashboard on http://${host}:${port}/ without authentication (${auth.why}): anyone who reaches it can delete jobs`);
    }
    await untilShutdownSignal();
    return 0;
  }),
};

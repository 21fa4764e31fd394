import Fastify from 'fastify';
import { Registry as PromRegistry } from 'prom-client';
import { registerBacklogGauges } from '../health/backlog-metrics.js';
import { openBacklogQueues, registerBacklogRoute } from '../health/backlog-route.js';
import { loadBacklogSettings } from '../health/backlog-settings.js';
import { loadSchedulerSettings } from '../config/scheduler.js';
import { healthPlugin, redisReadiness } from '../health/health-plugin.js';
import { listenInRange } from '../health/health-server.js';
import type { SingletonStart } from '../leader/index.js';
import { loadSingleton, startLeadership } from './singletons.js';
import { withReleasers } from './releasers.js';
import type { Service } from './service.js';
import { startRole, untilShutdownSignal } from './service-kit.js';

/**
 * The `scheduler` service: runs no workers, only the fleet's singleton services (SCHEDULES'
 * job schedulers, SINGLETON_MODULE) when it wins the leader election. Start it twice and one
 * runs them, the other waits to take over — unlike Celery beat, which runs twice.
 *
 * It also serves the QUEUE_NAME queues' backlog (`/backlog`, and `bouy_queue_backlog` in
 * `/metrics`): it stays up while no worker runs, so an autoscaler can scale the workers to
 * zero and still see the first job arrive.
 */
export const schedulerService: Service = {
  description: 'run the fleet\'s singleton services (SCHEDULES, SINGLETON_MODULE) on the elected leader',
  run: () => withReleasers(async (releasers) => {
    const config = loadSchedulerSettings();
    const backlogSettings = loadBacklogSettings();
    let singleton: SingletonStart | undefined;
    const { log, redis } = await startRole(config, 'scheduler', releasers, {
      preflight: async () => { singleton = await loadSingleton(config.singletonModule); },
    });
    log.info({ schedules: config.schedules.map((s) => s.id), singleton: config.singletonModule ?? null }, 'pre-flight passed');
    const leadership = startLeadership(config, singleton, log);
    releasers.add('leadership (handed over)', () => leadership.stop());
    const app = Fastify({ logger: false });
    releasers.add('health server', () => app.close());
    const ready = redisReadiness(redis);
    await app.register(healthPlugin, {
      ready,
      identity: { service: 'scheduler', hostname: config.hostname },
      status: async () => {
        const { ready: ok } = await ready();
        return {
          status: ok ? 'healthy' : 'unhealthy',
          redis: ok,
          body: {
            leader: leadership.election.isLeader(), leader_id: await leadership.leaderId(), schedules: config.schedules.map((s) => s.id),
          },
        };
      },
    });
    const queues = openBacklogQueues(app, config, redis);
    registerBacklogRoute(app, queues, backlogSettings);
    const metrics = new PromRegistry();
    metrics.setDefaultLabels({ host: config.hostname });
    registerBacklogGauges(metrics, queues, backlogSettings.windowSeconds);
    app.get('/metrics', async (_request, reply) => reply.header('Content-Type', metrics.contentType).send(await metrics.metrics()));
    if (config.healthServer) await listenInRange(app, config, log);
    log.info({ signal: await untilShutdownSignal() }, 'stopping: handing leadership over');
    return 0;
  }),
};

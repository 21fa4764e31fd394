import Fastify from 'fastify';
import { loadConfig } from '../config/config.js';
import { listenInRange } from '../health/health-server.js';
import { pingWithin } from '../redis.js';
import type { SingletonStart } from '../leader/index.js';
import { loadSingleton, startLeadership } from './leadership.js';
import type { Service } from './service.js';
import { addProbes, startRole, untilShutdownSignal } from './service-kit.js';

/**
 * The `scheduler` service: runs no workers, only the fleet's singleton services (SCHEDULES'
 * job schedulers, SINGLETON_MODULE) when it wins the leader election. Start it twice and one
 * runs them, the other waits to take over — unlike Celery beat, which runs twice.
 */
export const schedulerService: Service = {
  description: 'run the fleet\'s singleton services (SCHEDULES, SINGLETON_MODULE) on the elected leader',
  async run() {
    const config = loadConfig();
    let singleton: SingletonStart | undefined;
    const { log, redis } = await startRole(config, 'scheduler', async () => {
      singleton = await loadSingleton(config.singletonModule);
    });
    log.info({ schedules: config.schedules.map((s) => s.id), singleton: config.singletonModule ?? null }, 'pre-flight passed');
    const app = Fastify({ logger: false });
    const leadership = startLeadership(config, singleton, log);
    addProbes(app, redis);
    app.get('/health', async (_request, reply) => {
      const ok = await pingWithin(redis, 1000);
      return reply.code(ok ? 200 : 503).send({
        status: ok ? 'healthy' : 'unhealthy', service: 'scheduler', hostname: config.hostname, redis: ok ? 'ok' : 'unreachable',
        leader: leadership.election.isLeader(), leader_id: await leadership.leaderId(), schedules: config.schedules.map((s) => s.id),
      });
    });
    if (config.healthServer) {
      try {
        await listenInRange(app, config, log);
      } catch (error) {
        await leadership.stop();
        redis.disconnect();
        throw error;
      }
    }

    log.info({ signal: await untilShutdownSignal() }, 'stopping: handing leadership over');
    await leadership.stop();
    await app.close();
    redis.disconnect();
    return 0;
  },
};

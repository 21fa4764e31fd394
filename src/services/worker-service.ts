import { loadConfig, sharedSettings } from '../config/config.js';
import { buildHealthApp, listenInRange } from '../health/health-server.js';
import { createLogger, logDestination } from '../log.js';
import { assertRedisReachable, connect, pingWithin } from '../redis.js';
import { Registry } from '../registry/registry.js';
import { removeStaleRegistrations } from '../registry/stale-cleanup.js';
import { reclaimDeadPeers } from '../registry/dead-peers.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { loadProcessors } from '../worker/load-processor.js';
import type { Service } from './service.js';
import { onRecycleSignal, onScalingSignal, onShutdownSignal } from './signals.js';
import { joinFleet, type FleetPresence } from './fleet-presence.js';
import { createMetrics } from '../health/metrics.js';
import { loadSingleton, startLeadership, type Leadership } from './leadership.js';
import { registerAdminRoutes } from '../health/admin-routes.js';
import { registerBacklogRoute } from '../health/backlog-route.js';

/** Registrations older than this many missed heartbeats are stale. */
const MISSED_HEARTBEATS = 3;

/**
 * The `worker` service: validate, pre-flight, clean the registry, open the health server,
 * then supervise the workers until a shutdown signal has drained them.
 */
export const workerService: Service = {
  description: 'supervise WORKER_COUNT BullMQ worker processes (health on HEALTH_PORT)',
  async run() {
    const config = loadConfig();
    const output = logDestination(config.logFormat);
    const log = createLogger({ level: config.logLevel, format: config.logFormat, name: 'bouy', base: { role: 'supervisor', host: config.hostname } }, output);

    // Pre-flight: everything that can be wrong is found before anything starts.
    await loadProcessors(config.queues, config.processor);
    const singleton = await loadSingleton(config.singletonModule);
    await assertRedisReachable(config.redisUrl);
    log.info({ ...sharedSettings(config), workers: config.workerCount }, 'pre-flight passed');

    const redis = connect(config.redisUrl);
    redis.on('error', (error) => log.warn({ err: error }, 'supervisor Redis connection error'));
    const registry = new Registry(redis, config.keyPrefix, config.bullPrefix);
    const supervisor = new Supervisor(config, log, output, registry);
    let leadership: Leadership | undefined;
    let fleet: FleetPresence | undefined;
    const isLeader = () => leadership?.election.isLeader() ?? false;
    const health = config.healthServer
      ? buildHealthApp(config, {
        slots: () => supervisor.view(),
        redisReachable: () => pingWithin(redis, 1000),
        metrics: createMetrics(config, { supervisor, registry, redis, isLeader }),
        extra: async () => ({
          leader: isLeader(),
          leader_id: (await leadership?.leaderId()) ?? null,
          jobs_by_name: supervisor.jobStats.view(),
          verification: supervisor.lastVerification ?? null,
          fingerprint: fleet?.fingerprint ?? null,
          version: config.imageVersion,
          fleet: (await fleet?.view()) ?? null,
        }),
      })
      : undefined;
    if (health && config.adminToken) registerAdminRoutes(health, supervisor, config.adminToken);
    if (health) registerBacklogRoute(health, config, redis); // KEDA's metrics-api scaler reads it

    try {
      if (health) await listenInRange(health, config, log);
      const cleanup = await removeStaleRegistrations(redis, {
        prefix: config.keyPrefix, bullPrefix: config.bullPrefix, hostname: config.hostname,
        staleAfterMs: config.heartbeatSeconds * 1000 * MISSED_HEARTBEATS, registry, maxKills: config.maxJobKills,
      });
      log.info({ removed: cleanup.removed, requeued: cleanup.requeued.length }, `removed ${cleanup.removed} stale worker registration(s); ${cleanup.requeued.length} job(s) returned to their queues`);
      if (cleanup.skippedAlive.length > 0) {
        log.warn({ workers: cleanup.skippedAlive }, 'registrations with this hostname belong to processes still running here; another supervisor shares this hostname (set BOUY_HOSTNAME)');
      }
    } catch (error) {
      await health?.close();
      redis.disconnect();
      throw error;
    }

    const stopped = new Promise<void>((resolve) => supervisor.once('stopped', resolve));
    const removeHandlers = onShutdownSignal((signal) => void supervisor.stop(signal));
    const removeScaling = onScalingSignal((change) => supervisor.scaleBy(change));
    const removeRecycle = onRecycleSignal(() => void supervisor.recycle('all'));
    supervisor.once('all-ready', () => log.info({ workers: config.workerCount }, `all ${config.workerCount} worker(s) ready`));
    supervisor.start();
    leadership = startLeadership(config, singleton, log);
    fleet = joinFleet(config, redis, log);
    // Jobs of peers that died whole (nothing restarts them) go back once their heartbeat expired.
    const deadPeers = reclaimDeadPeers(redis, registry, {
      prefix: config.keyPrefix, hostname: config.hostname, maxKills: config.maxJobKills,
      staleAfterMs: config.heartbeatSeconds * 1000 * MISSED_HEARTBEATS, everyMs: Math.min(1000, config.heartbeatSeconds * 1000),
    }, log);
    supervisor.once('stopping', () => deadPeers.stop());

    // Singleton work stops (and the lease is handed over) while the workers drain.
    const stopping = new Promise<void>((resolve) => supervisor.once('stopping', resolve));
    await Promise.all([stopped, stopping.then(() => Promise.all([leadership?.stop(), fleet?.stop()]))]);
    removeHandlers();
    removeScaling();
    removeRecycle();
    await health?.close();
    await redis.quit().catch(() => redis.disconnect());
    log.info('supervisor exiting');
    return 0;
  },
};

import { loadConfig, sharedSettings } from '../config/config.js';
import { BouyError, EXIT } from '../errors.js';
import { within } from '../timeout.js';
import { registerAdminRoutes } from '../health/admin-routes.js';
import { openBacklogQueues, registerBacklogRoute } from '../health/backlog-route.js';
import { loadBacklogSettings } from '../health/backlog-settings.js';
import { buildHealthApp, listenInRange } from '../health/health-server.js';
import { writeProbe, writeProbeKey } from '../health/write-probe.js';
import { createMetrics } from '../health/metrics.js';
import { logDestination } from '../log.js';
import { connect, pingWithin, registrySocketTimeoutMs } from '../redis.js';
import { writeContainerHeartbeats } from '../registry/container-heartbeat.js';
import { WriteWatch } from '../registry/write-watch.js';
import { reclaimDeadPeers } from '../registry/dead-peers.js';
import { Registry } from '../registry/registry.js';
import { RedisClock, skewWarning } from '../registry/redis-clock.js';
import { claimHostname } from '../registry/hostname-claim.js';
import { removeStaleRegistrations } from '../registry/stale-cleanup.js';
import type { SingletonStart } from '../leader/index.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { startAutoscaling } from '../autoscale/autoscaler.js';
import { discardPreforked } from '../supervisor/prefork.js';
import { locateProcessors } from '../worker/load-processor.js';
import { recordEvent } from '../fleet/events.js';
import { startFleetReporting } from '../fleet/reporter.js';
import { joinFleet } from '../fleet/presence.js';
import { applyQueueLimits } from './queue-limits.js';
import { loadSingleton, startLeadership } from './singletons.js';
import { withReleasers } from './releasers.js';
import { sharedRead } from '../health/shared-read.js';
import type { Service } from './service.js';
import { startRole } from './service-kit.js';
import { onQuietSignal, onRecycleSignal, onScalingSignal, onShutdownSignal } from '../signals.js';

/**
 * How long the releases that talk to Redis may take on the way out, all together (see
 * SHUTDOWN_WRITE_GRACE_MS): bounded one by one, six of them added up past the shutdown bound.
 */
const RELEASE_MS = 1000;

/**
 * The `worker` service: validate, pre-flight, clean the registry, open the health server,
 * then supervise the workers until a shutdown signal has drained them. Every resource is
 * registered where it is made and released last-first on the way out, however it ends.
 */
export const workerService: Service = {
  description: 'supervise WORKER_COUNT BullMQ worker processes (health on HEALTH_PORT)',
  run: () => withReleasers(async (releasers) => {
    // Workers the entrypoint forked in waiting and the supervisor did not take: a start that
    // fails before the supervisor starts its workers leaves none behind.
    releasers.add('pre-forked workers', discardPreforked);
    const config = loadConfig();
    const backlogSettings = loadBacklogSettings();
    const output = logDestination(config.logFormat);
    let singleton: SingletonStart | undefined;
    let processors: Record<string, string> = {};
    // Pre-flight: everything that can be wrong is found before anything starts. The processor
    // is found, not imported (its top level runs in the workers only; see locateProcessor).
    const { log, redis } = await startRole(config, 'supervisor', releasers, {
      destination: output,
      preflight: async () => {
        processors = locateProcessors(config.queues, config);
        singleton = await loadSingleton(config.singletonModule);
      },
    });
    // Which file runs each queue, said at start: an application's own, or bouy's built-in example.
    log.info({ ...sharedSettings(config), workers: config.workerCount, processors }, 'pre-flight passed');
    const { mode, min, max, source } = config.workerScaling;
    log.info({ workers: config.workerCount, mode, min, max, source }, mode === 'range'
      ? `worker count: ${min}-${max}, autoscaled (${source})`
      : `worker count: ${config.workerCount} (${source})`);
    await applyQueueLimits(config, redis, log);

    // Every age (heartbeats, presence, the clean-up below) is judged on Redis's clock; a host
    // clock off it by more than a second is said once in the log and for as long in /health.
    const clock = new RedisClock(redis, (offsetMs, skewed) => {
      if (skewed) log.warn({ clock_offset_ms: Math.round(offsetMs) }, skewWarning(offsetMs)!);
      else log.info({ clock_offset_ms: Math.round(offsetMs) }, 'this host\'s clock agrees with Redis\'s again (within a second)');
    });
    await clock.sync();
    const clockKeeper = clock.keepSynced(); // also how /livez knows Redis still answers
    releasers.add('clock', () => clockKeeper.stop());
    const registry = new Registry(redis, config.keyPrefix, config.bullPrefix, clock);
    // The releases that talk to Redis share one bound, counted from the first: Redis may never
    // answer (a black-holed connection), and the process must still exit in time.
    let releaseBy: number | undefined;
    const bounded = (work: Promise<unknown>) => {
      releaseBy ??= Date.now() + RELEASE_MS;
      return within(work, Math.max(0, releaseBy - Date.now()), undefined);
    };
    // One live supervisor per BOUY_HOSTNAME (exit 69 naming the other), before any registration.
    const hostClaim = await claimHostname(redis, {
      prefix: config.keyPrefix, hostname: config.hostname, staleAfterMs: config.staleAfterMs, heartbeatMs: config.heartbeatSeconds * 1000,
    }, log);
    releasers.add('hostname claim', () => bounded(hostClaim.release())); // renewed by the container heartbeat below
    const supervisor = new Supervisor(config, log, output, registry);
    // Every worker's heartbeat in one write a heartbeat, on a connection of its own whose socket
    // timeout leaves a half-open path well inside the stale period (as each worker's did).
    const heartbeatMs = config.heartbeatSeconds * 1000;
    const writes = new WriteWatch(config.staleAfterMs, heartbeatMs);
    const beatConnection = connect(config.redis, { socketTimeout: registrySocketTimeoutMs(config.heartbeatSeconds) });
    beatConnection.on('error', (error) => log.debug({ err: error }, 'heartbeat connection error'));
    releasers.add('heartbeat connection', () => beatConnection.disconnect());
    const heartbeats = writeContainerHeartbeats({
      redis: beatConnection, prefix: config.keyPrefix, everyMs: heartbeatMs, clock, writes, log, claim: hostClaim,
      workers: () => supervisor.beatingWorkers(),
      lost: (name) => supervisor.registerAgain(name),
    });
    releasers.add('heartbeats', () => heartbeats.stop());
    supervisor.on('beat-changed', () => heartbeats.soon());
    // Its timer starts here, its first look one interval later (the workers are starting then).
    const autoscaling = startAutoscaling(config, supervisor, redis, log, (from, to, reason) =>
      void recordEvent(redis, config.keyPrefix, { host: config.hostname, kind: 'resize', message: `autoscaled ${from} → ${to} worker(s): ${reason}` }));
    releasers.add('autoscaling', () => bounded(autoscaling.stop()));
    supervisor.once('stopping', () => void autoscaling.stop());
    const leadership = startLeadership(config, singleton, log);
    releasers.add('leadership', () => bounded(leadership.stop()));
    const fleet = joinFleet(config, redis, log, clock, () => leadership.election.isLeader());
    releasers.add('fleet presence', () => bounded(fleet.stop()));
    // Singleton work stops (and the lease is handed over) while the workers drain.
    supervisor.once('stopping', () => void Promise.all([leadership.stop(), fleet.stop()]));

    let healthPort: number | undefined;
    if (config.healthServer) {
      const isLeader = () => leadership.election.isLeader();
      const leaderId = sharedRead(() => leadership.leaderId());
      const fleetView = sharedRead(() => fleet.view());
      const health = await buildHealthApp(config, {
        slots: () => supervisor.view(),
        redisReachable: sharedRead(() => pingWithin(redis, 1000)),
        redisUnansweredMs: () => clock.unansweredMs(),
        redisRefusal: sharedRead(() => writeProbe(redis, writeProbeKey(config.keyPrefix))),
        metrics: createMetrics(config, { supervisor, registry, redis, isLeader, backlogWindowSeconds: backlogSettings.windowSeconds }),
        extra: async () => ({
          leader: isLeader(),
          // Its own id when it leads: the shared read may be up to 250 ms older than the
          // election, and `leader: true` beside `leader_id: null` would contradict itself.
          leader_id: isLeader() ? leadership.election.id : await leaderId(),
          scaling: autoscaling.view(),
          jobs_by_name: supervisor.jobsByName(),
          verification: supervisor.lastVerification ?? null,
          fingerprint: fleet.fingerprint,
          version: config.imageVersion,
          fleet: await fleetView(),
          clock: clock.view(),
        }),
      });
      if (config.adminToken) registerAdminRoutes(health, supervisor, config.adminToken);
      registerBacklogRoute(health, openBacklogQueues(health, config, redis), backlogSettings); // KEDA's metrics-api scaler may read it
      // Bounded: closing it closes the backlog queues, which wait on a Redis that may never answer.
      releasers.add('health server', () => bounded(health.close()));
      healthPort = await listenInRange(health, config, log);
    }

    const cleanup = await removeStaleRegistrations(redis, {
      prefix: config.keyPrefix, bullPrefix: config.bullPrefix, hostname: config.hostname,
      staleAfterMs: config.staleAfterMs, registry, maxKills: config.maxJobKills,
    });
    if (cleanup.removed > 0) await recordEvent(redis, config.keyPrefix, { host: config.hostname, kind: 'stale-removed', message: `removed ${cleanup.removed} stale registration(s); ${cleanup.requeued.length} job(s) returned` });
    log.info({ removed: cleanup.removed, requeued: cleanup.requeued.length }, `removed ${cleanup.removed} stale worker registration(s); ${cleanup.requeued.length} job(s) returned to their queues`);
    if (cleanup.orphansKilled.length > 0) {
      log.warn({ workers: cleanup.orphansKilled }, `killed ${cleanup.orphansKilled.length} worker(s) of this host's previous supervisor that outlived it, and took back their jobs`);
    }
    if (cleanup.skippedLivePeers.length > 0) {
      log.info({ workers: cleanup.skippedLivePeers }, 'expired registrations of hosts whose supervisor is alive left to it (a late heartbeat is not a death)');
    }
    if (cleanup.skippedAlive.length > 0) {
      log.warn({ workers: cleanup.skippedAlive }, 'registrations with this hostname belong to processes still running here; another supervisor shares this hostname (set BOUY_HOSTNAME)');
    }

    const stopped = new Promise<void>((resolve) => supervisor.once('stopped', resolve));
    let fatal: Error | undefined;
    supervisor.once('fatal', (error) => {
      fatal = error;
      void supervisor.stop('a worker cannot start');
    });
    releasers.add('signal handlers', onShutdownSignal((signal) => void supervisor.stop(signal)));
    releasers.add('scaling signals', onScalingSignal((change) => supervisor.scaleBy(change)));
    releasers.add('recycle signal', onRecycleSignal(() => void supervisor.recycle('all')));
    releasers.add('quiet signal', onQuietSignal(() => supervisor.quiet('SIGTSTP')));
    supervisor.once('all-ready', () => log.info({ workers: config.workerCount }, `all ${config.workerCount} worker(s) ready`));
    supervisor.start();
    // The fleet page's snapshot, events and commands; withdrawn after the drain (released first).
    const fleetPage = startFleetReporting({ config, redis, supervisor, log, fingerprint: fleet.fingerprint, isLeader: () => leadership.election.isLeader(), healthPort: () => healthPort, scaling: () => autoscaling.view() });
    releasers.add('fleet page', () => bounded(fleetPage.stop()));
    // Jobs of peers that died whole (nothing restarts them) go back once their heartbeat expired.
    const deadPeers = reclaimDeadPeers(redis, registry, writes, {
      prefix: config.keyPrefix, hostname: config.hostname, maxKills: config.maxJobKills,
      staleAfterMs: config.staleAfterMs, everyMs: Math.min(1000, config.heartbeatSeconds * 500), // a look costs nothing until a heartbeat may have expired; the goal is 3 heartbeats + 2 s
    }, log);
    releasers.add('dead-peer reclaim', () => deadPeers.stop());
    supervisor.once('stopping', () => deadPeers.stop());

    await stopped;
    if (fatal) throw fatal instanceof BouyError ? fatal : new BouyError('BOUY_ERR_INTERNAL', fatal.message, { cause: fatal });
    log.info({ forced: supervisor.forced }, 'supervisor exiting');
    // A drain that ended in time is 0; a forced one (deadline, second signal) says so.
    return supervisor.forced ? EXIT.forced : EXIT.ok;
  }),
};

import type { RedisClient } from '../redis.js';
import { MISSED_HEARTBEATS, type Config } from '../config/config.js';
import { residentBytes } from '../health/process-memory.js';
import type { Logger } from '../log.js';
import { within } from '../timeout.js';
import type { WorkerPool } from '../supervisor/pool.js';
import type { ScalingView } from '../autoscale/autoscaler.js';
import { listenForCommands, type FleetCommand } from './commands.js';
import { recordEvent, type FleetEvent } from './events.js';
import { clip, MAX_JOBS_LISTED, publishSnapshot, withdrawSnapshot, workerState, type SupervisorSnapshot } from './snapshot.js';

/**
 * The page polls every 1.5 s, so the snapshot is looked at every second and published when it
 * changed (a worker's state, its jobs, a counter, leadership, quiet), and otherwise once a
 * heartbeat, to outlive its expiry: a fleet at rest costs Redis 2 commands a heartbeat per
 * container, not 4 a second, and every container of the fleet pays it. RSS, uptime and `at`
 * are no change: they move all the time, and are as fresh as the last publication (a
 * heartbeat at most).
 */
const LOOK_EVERY_MS = 1000;

/** What makes a snapshot worth publishing before its keep-alive: all of it but what always moves. */
function changeOf(snapshot: SupervisorSnapshot): string {
  const { at: _at, uptime_s: _uptime, workers, ...rest } = snapshot;
  return JSON.stringify({ ...rest, workers: workers.map(({ rss_bytes: _rss, uptime_s: _up, ...w }) => w) });
}

export interface FleetReporting {
  stop(): Promise<void>;
}

export interface ReporterOptions {
  config: Config;
  redis: RedisClient;
  supervisor: WorkerPool;
  log: Logger;
  fingerprint: string;
  isLeader(): boolean;
  healthPort(): number | undefined;
  /** The pool's size: current, min, max and the autoscaler's target (the page shows them). */
  scaling?(): ScalingView;
}

/**
 * The supervisor's part of the fleet page: publishes its snapshot (itself and every worker:
 * state, RSS, running jobs, counters) with an expiry, records what happens to its workers in
 * the fleet's event list, and carries out the page's commands (quiet, recycle, resize) that
 * arrive for its host through Redis.
 */
const scalingOf = ({ mode, current, min, max, target }: ScalingView) => ({ mode, current, min, max, target });

export function startFleetReporting(options: ReporterOptions): FleetReporting {
  const { config, redis, supervisor, log } = options;
  const host = config.hostname;
  const startedAt = Date.now() - Math.round(process.uptime() * 1000);
  // A snapshot outlives as many missed heartbeats as a registration, then expires with its supervisor.
  const ttlMs = Math.max(3000, config.heartbeatSeconds * 1000 * MISSED_HEARTBEATS);
  let wasLeader = false;

  const event = (kind: FleetEvent['kind'], message: string, worker?: string) =>
    void recordEvent(redis, config.keyPrefix, { host, kind, message, ...(worker ? { worker } : {}) });

  const snapshot = async (): Promise<SupervisorSnapshot> => {
    const now = Date.now();
    const views = supervisor.view();
    const workers = await Promise.all(views.map(async (view) => {
      const jobs = supervisor.runningJobs(view.name).slice(0, MAX_JOBS_LISTED)
        .map(({ queue, name, id, startedAt }) => ({ queue: clip(queue), name: clip(name), id: clip(id), started_at: startedAt }));
      return {
        name: view.name, index: view.index, pid: view.pid, state: workerState(view),
        rss_bytes: view.pid ? ((await residentBytes(view.pid)) ?? null) : null,
        uptime_s: view.uptime_s, jobs_active: view.jobs_active, jobs,
        jobs_completed: view.jobs_completed, jobs_failed: view.jobs_failed, restarts: view.restarts,
        recycles: view.recycles, recycle_refused: view.recycle_refused, last_exit: view.last_exit,
      };
    }));
    return {
      host, pid: process.pid, version: config.imageVersion, fingerprint: options.fingerprint, queues: config.queues,
      concurrency: config.concurrency, started_at: startedAt, uptime_s: Math.round((now - startedAt) / 1000),
      health_port: options.healthPort() ?? null, leader: options.isLeader(), quiet: supervisor.isQuiet,
      restarts: views.reduce((n, v) => n + v.restarts, 0), at: now, workers,
      ...(options.scaling ? { scaling: scalingOf(options.scaling()) } : {}),
    };
  };

  const keepAliveMs = config.heartbeatSeconds * 1000;
  let published: { change: string; at: number } | undefined;
  let publishing: Promise<void> | undefined;
  let stopped = false;
  /** `force`: publish whether or not anything changed (an event the page must show now). */
  const publish = (force = false) => {
    if (publishing || stopped) return publishing; // a slow Redis: skip a beat rather than pile up
    publishing = publishOnce(force).finally(() => { publishing = undefined; });
    return publishing;
  };
  const publishOnce = async (force: boolean) => {
    try {
      const leader = options.isLeader();
      if (leader !== wasLeader) event('leader', leader ? 'became the fleet\'s leader' : 'no longer the leader');
      wasLeader = leader;
      const now = await snapshot();
      const change = changeOf(now);
      if (!force && published && published.change === change && now.at - published.at < keepAliveMs) return;
      await publishSnapshot(redis, config.keyPrefix, now, ttlMs);
      published = { change, at: now.at };
    } catch (error) {
      log.debug({ err: error }, 'could not publish the fleet snapshot');
    }
  };
  // Changes reach the page at the next poll, not the next tick.
  const soon = () => setImmediate(() => void publish(true));

  supervisor.on('worker-exited', (worker, kind, detail) => {
    // The restart decision is taken right after this event, in the same turn: read it then.
    setImmediate(() => {
      if (kind === 'crash') {
        const state = supervisor.view().find((v) => v.name === worker)?.state;
        if (state === 'crash-loop') event('crash-loop', `crash loop (${detail}); backing off`, worker);
        else event('restart', `exited unexpectedly (${detail}); restarting`, worker);
      } else if (kind === 'recycle') event('recycle', `recycled (${detail})`, worker);
      else if (kind === 'remove') event('resize', 'removed (fewer workers)', worker);
      soon();
    });
  });
  supervisor.on('quiet', () => {
    event('quiet', 'quiet: no new jobs until shutdown');
    soon();
  });
  supervisor.on('all-ready', soon);

  const apply = (command: FleetCommand) => {
    log.info({ command }, `fleet page: ${command.action}`);
    if (command.action === 'quiet') supervisor.quiet('fleet page');
    else if (command.action === 'resize') event('resize', `resized to ${supervisor.scaleTo(command.workers)} worker(s) from the fleet page`);
    else if (command.worker !== 'all' && !supervisor.view().some((v) => v.index === command.worker)) log.warn({ command }, 'fleet page: no such worker');
    else {
      event('command', `recycle ${command.worker === 'all' ? 'all workers' : `worker ${command.worker}`} from the fleet page`);
      void supervisor.recycle(command.worker);
    }
    soon();
  };
  const commands = listenForCommands(redis, config.keyPrefix, host, apply, (why) => log.warn({ why }, 'fleet page command ignored'),
    (from, to) => log.info({ from, to }, `fleet page: ${from} commands collapsed to ${to} (only the last resize counts)`));

  void publish(true);
  const timer = setInterval(() => void publish(), Math.min(LOOK_EVERY_MS, config.heartbeatSeconds * 1000));
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      commands.stop();
      await publishing; // one in flight would otherwise land after the withdrawal
      await within(withdrawSnapshot(redis, config.keyPrefix, host), 1000, undefined);
    },
  };
}

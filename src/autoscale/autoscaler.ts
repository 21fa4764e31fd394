import { Queue } from 'bullmq';
import type { Config } from '../config/config.js';
import { memoryLimitOf, readCgroupFiles } from '../config/cgroup-limits.js';
import { proportionalBytes } from '../health/process-memory.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';
import { readQueueBacklog } from '../health/queue-backlog.js';
import { decideScale, INITIAL_SCALE_STATE, slotsFull, type MemoryRoom, type ScaleState } from './decision.js';
import type { WorkerPool } from '../supervisor/pool.js';

/** What /health and the fleet page show of the pool's size. */
export interface ScalingView {
  mode: Config['workerScaling']['mode'];
  current: number;
  min: number;
  max: number;
  /** What the autoscaler last decided (the current count when fixed). */
  target: number;
  /** Where min and max came from (WORKER_COUNT, the cgroup quota). */
  source: string;
  /** Why the target is what it is (autoscaled only). */
  reason: string | null;
}

/** A backlog read that does not answer in this long is skipped: the next tick tries again. */
const BACKLOG_TIMEOUT_MS = 1000;

export interface Autoscaling {
  view(): ScalingView;
  stop(): Promise<void>;
}

/**
 * WORKER_COUNT=MIN-MAX at run time: every AUTOSCALE_INTERVAL_SECONDS, observe the slots (and,
 * only when every slot is busy, the backlog and the memory room), let decideScale decide, and
 * resize the pool through the supervisor — whose shrinking drains a worker, so no job is cut
 * off. Each change is reported through `changed` (a fleet event and a log line). Fixed and
 * auto counts start no timer: the view alone.
 */
export function startAutoscaling(
  config: Config, supervisor: WorkerPool, redis: RedisClient, log: Logger, changed: (from: number, to: number, reason: string) => void,
): Autoscaling {
  const { mode, min, max, source } = config.workerScaling;
  let target = min;
  let reason: string | null = null;
  const view = (): ScalingView => {
    const current = supervisor.staying().length;
    return { mode, current, min, max, target: mode === 'range' ? target : current, source, reason };
  };
  if (mode !== 'range') return { view, stop: async () => {} };

  const queues = config.queues.map((name) => {
    const queue = new Queue(name, { connection: redis, prefix: config.bullPrefix });
    queue.on('error', (error) => log.debug({ err: error, queue: name }, 'autoscaler queue error'));
    return queue;
  });
  // The jobs that could start now, as the /backlog route counts them: none of a paused queue,
  // delayed ones due before the next look, and no more than QUEUE_GLOBAL_CONCURRENCY and
  // QUEUE_RATE_LIMIT let start — workers added for jobs that cannot start would sit idle.
  const waitingJobs = async (): Promise<number | undefined> => {
    const backlogs = await Promise.all(queues.map((q) => readQueueBacklog(q, config.autoscaleIntervalSeconds * 1000, BACKLOG_TIMEOUT_MS)));
    if (backlogs.some((b) => b === undefined)) return undefined;
    return backlogs.reduce((sum, b) => sum + Math.max(0, b!.slots - b!.active), 0);
  };
  const memoryRoom = async (pids: number[]): Promise<MemoryRoom | undefined> => {
    const limit = memoryLimitOf(readCgroupFiles());
    if (!limit) return undefined;
    // PSS: a new worker shares Node's binary and libraries with the running ones.
    const sizes = (await Promise.all(pids.map((pid) => proportionalBytes(pid)))).filter((b): b is number => b !== undefined);
    if (sizes.length === 0) return undefined;
    const workerBytes = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    const usedBytes = limit.usedBytes ?? sizes.reduce((a, b) => a + b, process.memoryUsage.rss());
    return { limitBytes: limit.limitBytes, usedBytes, workerBytes };
  };

  let state: ScaleState = INITIAL_SCALE_STATE;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = async () => {
    const slots = supervisor.staying();
    const ready = slots.filter((s) => s.state === 'ready');
    const observation = {
      now: Date.now(),
      workers: slots.length,
      starting: slots.filter((s) => s.state === 'starting').length,
      ready: ready.length,
      busy: ready.reduce((n, s) => n + s.jobs_active, 0),
      frozen: supervisor.isQuiet || supervisor.stopping,
    };
    // Redis and /proc are read only when every slot is busy: an idle pool costs nothing.
    const full = !observation.frozen && slotsFull(observation, config.concurrency);
    const waiting = full ? await waitingJobs() : undefined;
    const memory = full && waiting ? await memoryRoom(ready.flatMap((s) => (s.pid ? [s.pid] : []))) : undefined;
    if (stopped) return;
    const decision = decideScale(
      { min, max, concurrency: config.concurrency, quietWindowMs: config.autoscaleQuietSeconds * 1000 },
      state, { ...observation, workers: supervisor.staying().length, waiting, memory },
    );
    state = decision.state;
    target = decision.target;
    reason = decision.reason;
    const current = supervisor.staying().length;
    if (decision.target !== current && !supervisor.stopping) {
      supervisor.scaleTo(decision.target);
      log.info({ from: current, to: decision.target, reason: decision.reason }, `autoscale: ${current} → ${decision.target} worker(s): ${decision.reason}`);
      changed(current, decision.target, decision.reason);
    }
  };
  const timer = setInterval(() => {
    running ??= tick().catch((error: unknown) => log.warn({ err: error }, 'autoscale check failed')).finally(() => { running = undefined; });
  }, config.autoscaleIntervalSeconds * 1000);
  timer.unref();
  log.info({ min, max, interval_s: config.autoscaleIntervalSeconds, quiet_s: config.autoscaleQuietSeconds }, `autoscaling between ${min} and ${max} worker(s)`);
  return {
    view,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
    },
  };
}

import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { isOverdue, timedOutMessage } from '../jobs/timeout.js';
import { hungSlots } from './hang-watchdog.js';
import type { Slot } from './slot.js';
import { draining, heard, killedForTimeout } from './slot-lifecycle.js';
import { replaceUnreachableWorkers } from './unreachable-workers.js';
import type { Registry } from '../registry/registry.js';

/** How often deadlines are looked at: a blocked worker is killed at most this late after its grace. */
const DEADLINE_TICK_MS = 250;

/**
 * The `queue:id` of each job whose worker has neither ended nor failed it `graceMs` past its
 * timeout, with the message it fails with. The worker fails a timed-out job itself from a
 * timer and says so (IPC `timed-out`); still silent after the grace, its event loop is blocked.
 */
export function overdueJobs(slot: Slot, graceMs: number, now: number): Map<string, string> {
  const overdue = new Map<string, string>();
  if (slot.child === undefined || slot.departure?.kind === 'recycle' && slot.departure.killed) return overdue;
  for (const [key, deadline] of slot.deadlines) {
    if (isOverdue(deadline, graceMs, now)) overdue.set(key, timedOutMessage(deadline.timeoutMs));
  }
  return overdue;
}

/** What the watchdogs need of the supervisor. */
export interface WatchedPool {
  slots: () => readonly Slot[];
  stopping: () => boolean;
  registry: Registry;
}

/**
 * The supervisor's three watchdogs over workers that cannot help themselves: a worker silent for
 * WORKER_HANG_TIMEOUT_SECONDS (hang-watchdog.ts) is killed and handled like a crash; one blocked
 * on a job past its timeout and JOB_TIMEOUT_GRACE_SECONDS is killed and replaced as a recycle,
 * its job failed as timed out; one alive but cut off from Redis (a half-open connection it did
 * not mend, unreachable-workers.ts) is killed and replaced as a recycle, its jobs returned
 * without counting a kill (not theirs). Returns the function that stops them.
 */
export function startWatchdogs(pool: WatchedPool, config: Config, log: Logger): () => void {
  const { slots } = pool;
  const graceMs = config.jobTimeoutGraceSeconds * 1000;
  const hangMs = config.hangTimeoutSeconds * 1000;
  const killHung = () => {
    const now = Date.now();
    for (const slot of hungSlots(slots(), hangMs, now)) {
      log.error({ worker: slot.name, pid: slot.pid, silent_s: Math.round((now - slot.lastSeen) / 1000) }, `worker unresponsive for over ${config.hangTimeoutSeconds}s (event loop stuck); killing it`);
      slot.child?.kill('SIGKILL');
      heard(slot, now); // one kill per hang, not one per tick while it dies
    }
  };
  const killOverdue = () => {
    const now = Date.now();
    for (const slot of slots()) {
      const overdue = overdueJobs(slot, graceMs, now);
      if (overdue.size === 0) continue;
      log.error({ worker: slot.name, pid: slot.pid, jobs: [...overdue.keys()], grace_s: config.jobTimeoutGraceSeconds }, 'worker blocked past a job\'s timeout and grace; killing it, failing the job as timed out');
      killedForTimeout(slot, overdue);
      slot.child?.kill('SIGKILL');
    }
  };
  const replaceUnreachable = (slot: Slot, silentMs: number) => {
    if (!slot.child || pool.stopping() || (slot.departure?.kind === 'recycle' && slot.departure.killed)) return;
    log.error({ worker: slot.name, pid: slot.pid, silent_s: Math.round(silentMs / 1000) }, `worker has not reached Redis for ${Math.round(silentMs / 1000)} s while this supervisor does; replacing it`);
    draining(slot, { kind: 'recycle', reason: 'redis-unreachable', killed: true });
    slot.child.kill('SIGKILL');
  };
  const unreachable = replaceUnreachableWorkers({
    slots, clock: pool.registry.clock, staleAfterMs: config.staleAfterMs, everyMs: config.heartbeatSeconds * 1000, log, replace: replaceUnreachable,
  });
  const timers = [setInterval(killOverdue, DEADLINE_TICK_MS)];
  if (hangMs > 0) timers.push(setInterval(killHung, Math.min(config.heartbeatSeconds * 1000, hangMs / 2)));
  for (const timer of timers) timer.unref();
  return () => {
    for (const timer of timers) clearInterval(timer);
    unreachable.stop();
  };
}

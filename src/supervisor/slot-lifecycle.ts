import type { ChildProcess } from 'node:child_process';
import type { RestartDecision } from './restart-policy.js';
import type { Departure, Slot, SlotState } from './slot.js';

/**
 * Every state a slot may move to from each state — the whole lifecycle on one screen:
 *
 *   starting ─ready→ ready ─drain→ draining ─exit→ (stopped | refilled: starting)
 *      │               │                │
 *      └──── exit ─────┴────────────────┴→ restarting | crash-loop ─timer→ starting
 *
 *   ready ─quiet→ quiet ─drain→ draining (a quiet supervisor's starting workers become quiet)
 *
 * A worker can die in any live state; `stopped` is final (shutdown, or a slot removed).
 */
const NEXT: Readonly<Record<SlotState, readonly SlotState[]>> = {
  starting: ['ready', 'quiet', 'draining', 'restarting', 'crash-loop', 'stopped'],
  ready: ['quiet', 'draining', 'restarting', 'crash-loop', 'stopped'],
  quiet: ['draining', 'restarting', 'crash-loop', 'stopped'],
  draining: ['starting', 'restarting', 'crash-loop', 'stopped'],
  restarting: ['starting', 'stopped'],
  'crash-loop': ['starting', 'stopped'],
  stopped: [],
};

export function canMove(from: SlotState, to: SlotState): boolean {
  return NEXT[from].includes(to);
}

function move(slot: Slot, to: SlotState): void {
  if (slot.state === to) return;
  if (!canMove(slot.state, to)) throw new Error(`slot ${slot.name}: no transition from ${slot.state} to ${to}`);
  slot.state = to;
}

/** A new worker process took the slot: everything about the previous one is forgotten. */
export function forked(slot: Slot, child: ChildProcess, now = Date.now()): void {
  // A fresh slot (or one whose worker was refilled after a recycle) starts as it is.
  if (slot.state !== 'starting') move(slot, 'starting');
  slot.child = child;
  slot.pid = child.pid;
  slot.startedAt = now;
  slot.lastSeen = now;
  slot.beat = undefined;
  slot.restartTimer = undefined;
  slot.nextStartAt = undefined;
  slot.departure = undefined;
  slot.running.clear();
  slot.errors.clear();
  slot.checks.clear();
  slot.deadlines.clear();
  slot.timedOut.clear();
  slot.recycleRefused = undefined;
}

/**
 * The worker said it consumes. Only a starting worker becomes ready (a draining one stays so);
 * in a quiet supervisor it becomes quiet (it was told not to fetch before it started).
 */
export function becameReady(slot: Slot, quiet = false): void {
  if (slot.state === 'starting') move(slot, quiet ? 'quiet' : 'ready');
}

/** The supervisor went quiet: a ready worker now takes no new jobs (a starting one, once ready). */
export function quieted(slot: Slot): void {
  if (slot.state === 'ready') move(slot, 'quiet');
}

/** The worker stops taking jobs and finishes its active ones; `departure` says why, if on purpose. */
export function draining(slot: Slot, departure?: Departure): void {
  if (departure) slot.departure = departure;
  move(slot, 'draining');
}

/** The worker process is gone: its jobs are no longer running here. */
export function exited(slot: Slot, exit: string): void {
  slot.child = undefined;
  slot.beat = undefined;
  slot.lastExit = exit;
  slot.jobs.active = 0;
  slot.running.clear();
  slot.errors.clear();
  slot.deadlines.clear();
}

/** The slot will not run a worker again (shutdown, or removed by a scale-down). */
export function stopped(slot: Slot): void {
  clearTimeout(slot.restartTimer);
  slot.restartTimer = undefined;
  slot.nextStartAt = undefined;
  move(slot, 'stopped');
}

/** A crashed worker is replaced after the policy's delay (longer in a crash loop). */
export function restartScheduled(slot: Slot, decision: RestartDecision, timer: NodeJS.Timeout, now = Date.now()): void {
  slot.quickDeaths = decision.quickDeaths;
  move(slot, decision.crashLoop ? 'crash-loop' : 'restarting');
  slot.nextStartAt = now + decision.delayMs;
  slot.restartTimer = timer;
}

/** A recycled worker left cleanly; its replacement is forked next. */
export function recycled(slot: Slot, reason: string): void {
  slot.recycles[reason] = (slot.recycles[reason] ?? 0) + 1;
  slot.departure = undefined;
}

/** The worker reports a queue failing in a loop; true the first time (worth a log line). */
export function queueFailing(slot: Slot, queue: string, error: string, count: number, now = Date.now()): boolean {
  const known = slot.errors.get(queue);
  slot.errors.set(queue, { error, count, since: known?.since ?? now });
  return known === undefined;
}

/**
 * The worker's event loop is blocked past a job's timeout and grace (it could not even fail the
 * job itself): it is killed and replaced at once, as a recycle, and `jobs` fail as timed out
 * instead of counting as kills (see Registry.reclaim `timedOut`).
 */
export function killedForTimeout(slot: Slot, jobs: ReadonlyMap<string, string>): void {
  draining(slot, { kind: 'recycle', reason: 'job-timeout', killed: true });
  for (const [key, message] of jobs) slot.timedOut.set(key, message);
}

/** A worker ended a timed-out job itself (or it finished): nothing left for the supervisor to enforce. */
export function deadlineMet(slot: Slot, key: string): void {
  slot.deadlines.delete(key);
}

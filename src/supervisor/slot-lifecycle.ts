import type { ChildProcess } from 'node:child_process';
import type { CheckReport, WorkerBeat } from '../ipc.js';
import type { ExitKind } from './pool.js';
import { describeExit, type RestartDecision } from './restart-policy.js';
import { deadlineOf } from '../jobs/timeout.js';
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
export function becameReady(slot: Slot, quiet = false, settings?: Record<string, unknown>): void {
  if (settings) slot.settings = settings;
  if (slot.state === 'starting') move(slot, quiet ? 'quiet' : 'ready');
}

/** The worker said something over IPC: it is not hung (hang-watchdog.ts). */
export function heard(slot: Slot, now = Date.now()): void {
  slot.lastSeen = now;
}

/**
 * The worker's heartbeat arrived (IPC `alive`): kept with when it came, for the container
 * heartbeat to write. True when it says a new state, which its registration should show now.
 */
export function beatReceived(slot: Slot, beat: WorkerBeat & { type?: 'alive' }): boolean {
  const { type: _type, ...received } = beat;
  const changed = slot.beat?.state !== received.state;
  slot.beat = { ...received, at: slot.lastSeen };
  return changed;
}

/** The worker's check() of a queue's processor ran. */
export function checked(slot: Slot, report: CheckReport): void {
  slot.checks.set(report.queue, report);
}

/** A recycle the worker asked for would only loop: refused, and /health says why. */
export function recycleRefused(slot: Slot, why: string): void {
  slot.recycleRefused = why;
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

/** What a worker's exit was, taken as it happened (before its jobs are returned). */
export interface WorkerExit {
  /** `exit code 1`, `signal SIGKILL`: as /health's last_exit shows it. */
  exit: string;
  uptimeMs: number;
  departure: Departure | undefined;
  /**
   * Exit 0 of a worker asked to go (drain, recycle, removal, shutdown). A worker that exits on
   * its own — even with code 0, a processor calling process.exit — died mid-job like a crash.
   */
  clean: boolean;
  /** The supervisor killed it, blocked past a job's timeout (killedForTimeout): not the jobs' doing. */
  killedForTimeout: boolean;
}

/** The worker process is gone (its exit event): the slot forgets it; what it was is returned. */
export function workerGone(slot: Slot, code: number | null, signal: NodeJS.Signals | null, stopping: boolean, now = Date.now()): WorkerExit {
  const departure = slot.departure;
  const gone: WorkerExit = {
    exit: describeExit(code, signal),
    uptimeMs: now - (slot.startedAt ?? now),
    departure,
    clean: code === 0 && signal === null && (stopping || departure !== undefined),
    killedForTimeout: departure?.kind === 'recycle' && departure.killed === true,
  };
  exited(slot, gone.exit);
  return gone;
}

/**
 * What follows a worker's exit, decided once its jobs are returned (a shutdown may have begun
 * meanwhile): the shutdown counts it; a removed slot goes; a recycled one (clean, or killed for
 * a timeout) is refilled at once; anything else is a crash, restarted after the policy's delay.
 */
export function exitKind(gone: WorkerExit, stopping: boolean): ExitKind {
  if (stopping) return 'stop';
  if (gone.departure?.kind === 'remove') return 'remove';
  if (gone.departure?.kind === 'recycle' && (gone.clean || gone.killedForTimeout)) return 'recycle';
  return 'crash';
}

/** The slot will not run a worker again (shutdown, or removed by a scale-down). */
export function stopped(slot: Slot): void {
  clearTimeout(slot.restartTimer);
  slot.restartTimer = undefined;
  slot.nextStartAt = undefined;
  move(slot, 'stopped');
}

/** A crashed worker's restart delay is over: it is started again. */
export function restartDue(slot: Slot): void {
  slot.restarts += 1;
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

/** The worker consumes a queue it failed on again. */
export function queueRecovered(slot: Slot, queue: string): void {
  slot.errors.delete(queue);
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

/** The worker is about to run a job with a timeout (IPC `job-deadline`, sent before the processor starts). */
export function deadlineSet(slot: Slot, key: string, timeoutMs: number, now = Date.now()): void {
  slot.deadlines.set(key, deadlineOf(timeoutMs, now));
}

/** A worker ended a timed-out job itself (or it finished): nothing left for the supervisor to enforce. */
export function deadlineMet(slot: Slot, key: string): void {
  slot.deadlines.delete(key);
}

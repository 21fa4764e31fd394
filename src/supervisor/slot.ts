import type { ChildProcess } from 'node:child_process';
import { addTally, emptyCounters, viewCounters, type JobCounters, type JobStatsByName } from './job-stats.js';
import type { CheckReport, JobTally, RecycleReason, WorkerMessage } from '../ipc.js';
import type { ReceivedBeat } from '../registry/container-heartbeat.js';

/** `quiet`: started and alive but taking no new jobs (Sidekiq's TSTP), until shutdown. */
export type SlotState = 'starting' | 'ready' | 'quiet' | 'draining' | 'restarting' | 'crash-loop' | 'stopped';

/** A queue whose BullMQ Worker keeps failing in this slot's worker (see ErrorWatch). */
export interface QueueError { error: string; count: number; since: number }

/** Why a slot's worker is going away on purpose (anything else is a crash). */
export type Departure = { kind: 'recycle'; reason: RecycleReason; killed?: true } | { kind: 'remove' };

/** One numbered place in the supervisor's pool; its worker process comes and goes, the name stays. */
export interface Slot {
  readonly index: number;
  readonly name: string;
  state: SlotState;
  child: ChildProcess | undefined;
  pid: number | undefined;
  /** Times this slot's worker was started again after a crash. */
  restarts: number;
  startedAt: number | undefined;
  /** Consecutive deaths soon after start; drives crash-loop backoff. */
  quickDeaths: number;
  /** This slot's jobs over every worker it has had. */
  jobs: JobCounters;
  /** Jobs the current worker ran at its last report: `queue:id` → name and start (epoch ms). */
  running: Map<string, { name: string; startedAt: number }>;
  recycles: Record<string, number>;
  /** Set when a recycle was refused because it would loop. */
  recycleRefused: string | undefined;
  departure: Departure | undefined;
  settings: Record<string, unknown> | undefined;
  lastExit: string | undefined;
  /** When the current worker last said anything over IPC (ms). */
  lastSeen: number;
  /** The current worker's last heartbeat (what its registration shows, written by container-heartbeat.ts). */
  beat: ReceivedBeat | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  nextStartAt: number | undefined;
  /** Queues the current worker reports failing, by queue; cleared when its process ends. */
  errors: Map<string, QueueError>;
  /** The current worker's last check() result per queue. */
  checks: Map<string, CheckReport>;
  /** Running jobs with a timeout: `queue:id` → when the supervisor stops waiting for the worker to end it. */
  deadlines: Map<string, { at: number; timeoutMs: number }>;
  /** Jobs the supervisor killed the worker for (past timeout and grace): `queue:id` → failure message. */
  timedOut: Map<string, string>;
}

export function newSlot(index: number, name: string): Slot {
  return {
    index, name, state: 'starting', child: undefined, pid: undefined, restarts: 0, startedAt: undefined,
    quickDeaths: 0, jobs: emptyCounters(), running: new Map(), recycles: {}, recycleRefused: undefined,
    departure: undefined, settings: undefined, lastExit: undefined, lastSeen: 0, beat: undefined, restartTimer: undefined, nextStartAt: undefined,
    errors: new Map(), checks: new Map(), deadlines: new Map(), timedOut: new Map(),
  };
}

export interface SlotView {
  name: string;
  index: number;
  pid: number | null;
  state: SlotState;
  restarts: number;
  uptime_s: number;
  jobs_completed: number;
  jobs_failed: number;
  jobs_active: number;
  jobs: ReturnType<typeof viewCounters>;
  recycles: Record<string, number>;
  recycle_refused: string | null;
  last_exit: string | null;
  next_start_in_s: number | null;
  /** Queues this worker fails to consume: /health and /readyz turn on these. */
  errors: { queue: string; error: string; count: number; for_s: number }[];
  /** The worker's last processor check per queue: /health's `processor` and its status turn on these. */
  checks: { queue: string; ok: boolean; detail: string | null; hint: string | null; checked_at: string }[];
}

export function viewSlot(slot: Slot, now = Date.now()): SlotView {
  const live = slot.child !== undefined && slot.startedAt !== undefined;
  return {
    name: slot.name,
    index: slot.index,
    pid: slot.child ? (slot.pid ?? null) : null,
    state: slot.state,
    restarts: slot.restarts,
    uptime_s: live ? Math.round((now - slot.startedAt!) / 100) / 10 : 0,
    jobs_completed: slot.jobs.completed,
    jobs_failed: slot.jobs.failed,
    jobs_active: slot.running.size,
    jobs: viewCounters(slot.jobs),
    recycles: { ...slot.recycles },
    recycle_refused: slot.recycleRefused ?? null,
    last_exit: slot.lastExit ?? null,
    next_start_in_s: slot.nextStartAt ? Math.max(0, Math.round((slot.nextStartAt - now) / 100) / 10) : null,
    errors: [...slot.errors].map(([queue, e]) => ({ queue, error: e.error, count: e.count, for_s: Math.round((now - e.since) / 1000) })),
    checks: [...slot.checks.values()].map((c) => ({
      queue: c.queue, ok: c.ok, detail: c.detail ?? null, hint: c.hint ?? null, checked_at: new Date(c.checkedAt).toISOString(),
    })),
  };
}

/**
 * A worker's report (see worker/job-report.ts): its tallies are added to the slot's counters and
 * the per-name stats, and its running list replaces the slot's. A deadline whose job is no
 * longer running is dropped (the job ended in time). Returns the tallies under the names the
 * supervisor counts them by (`other` past JOB_NAME_LIMIT), for the metrics.
 */
export function applyReport(slot: Slot, stats: JobStatsByName, report: Extract<WorkerMessage, { type: 'report' }>): JobTally[] {
  slot.running = new Map(report.running.map((job) => [`${job.queue}:${job.jobId}`, { name: job.name, startedAt: job.startedAt }]));
  for (const key of slot.deadlines.keys()) if (!slot.running.has(key)) slot.deadlines.delete(key);
  // One at a time: a name takes its place among the first JOB_NAME_LIMIT as it is added.
  const labelled = report.tallies.map((reported) => {
    const tally = { ...reported, name: stats.label(reported.name) };
    addTally(slot.jobs, tally);
    stats.add(tally);
    return tally;
  });
  slot.jobs.active = slot.running.size;
  return labelled;
}

/** Jobs of `queue` running in these slots' workers now. */
export function activeJobsOf(slots: readonly Slot[], queue: string): number {
  let count = 0;
  for (const slot of slots) for (const key of slot.running.keys()) if (key.startsWith(`${queue}:`)) count += 1;
  return count;
}

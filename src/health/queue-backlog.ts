import type { Queue } from 'bullmq';
import { within } from '../timeout.js';

/**
 * What a queue holds, as counted in Redis, before any judgement: the raw parts of a backlog.
 * `delayedDue` is the delayed jobs whose time comes within the window (a subset of `delayed`).
 */
export interface QueueCounts {
  waiting: number;
  prioritized: number;
  delayed: number;
  delayedDue: number;
  active: number;
}

/** The queue-wide settings the workers wrote to the queue's meta hash (src/services/queue-limits.ts). */
export interface QueueMeta {
  paused: boolean;
  /** QUEUE_GLOBAL_CONCURRENCY; undefined: no cap. */
  globalConcurrency?: number;
  /** QUEUE_RATE_LIMIT; undefined: no limit. */
  rateLimit?: { max: number; durationMs: number };
}

/** One queue's backlog, every part named so a person can see why the number is what it is. */
export interface QueueBacklog {
  waiting: number;
  prioritized: number;
  /** Delayed jobs due within the window: they will be ready before the autoscaler asks again. */
  delayed_due: number;
  /** Delayed jobs due later (job schedulers' next runs, far retries): not counted. */
  delayed_later: number;
  active: number;
  paused: boolean;
  /** Jobs a worker could take now or within the window: waiting + prioritized + delayed_due; 0 while paused. */
  ready: number;
  /** ready + active: the jobs that want a worker slot. */
  backlog: number;
  /** The queue-wide limits that cap `slots` (null: none set). */
  global_concurrency: number | null;
  rate_limit: { max: number; duration_ms: number } | null;
  /** Job starts the rate limit allows before the window ends (null: no rate limit). */
  rate_limit_starts: number | null;
  /** Worker slots that can be busy: active + the ready jobs that may start, capped by global_concurrency. */
  slots: number;
}

/**
 * The backlog arithmetic, pure. Why each part:
 * - Delayed jobs count only when due within the window (the autoscaler's polling interval):
 *   a job scheduler's next run an hour away, or 80 jobs delayed by an hour, need no pod now;
 *   the next poll sees them when they come due.
 * - A paused queue has 0 ready (no worker can take its jobs); its active jobs still hold slots
 *   until they finish, so a pod running them is not scaled in mid-job.
 * - QUEUE_GLOBAL_CONCURRENCY caps the slots: slots beyond it would sit idle.
 * - QUEUE_RATE_LIMIT (`max` starts per `duration`, BullMQ's fixed window) caps how many ready
 *   jobs can start before the next poll: at most `max` per window touched, and a window of
 *   length W touches at most ⌈W / duration⌉ + 1 limiter windows. The bound is on starts, not on
 *   jobs at once (that would need the jobs' run time, which a backlog read cannot know), so it
 *   matters where the rate is low against the backlog: 1000 ready jobs at 10/1m want at most
 *   active + 20 slots in a 15 s window, not 1000.
 */
export function composeBacklog(counts: QueueCounts, meta: QueueMeta, windowMs: number): QueueBacklog {
  const delayedDue = Math.min(counts.delayedDue, counts.delayed);
  const ready = meta.paused ? 0 : counts.waiting + counts.prioritized + delayedDue;
  const rateStarts = meta.rateLimit ? meta.rateLimit.max * (Math.ceil(windowMs / meta.rateLimit.durationMs) + 1) : undefined;
  const startable = rateStarts === undefined ? ready : Math.min(ready, rateStarts);
  const wanted = counts.active + startable;
  return {
    waiting: counts.waiting,
    prioritized: counts.prioritized,
    delayed_due: delayedDue,
    delayed_later: counts.delayed - delayedDue,
    active: counts.active,
    paused: meta.paused,
    ready,
    backlog: ready + counts.active,
    global_concurrency: meta.globalConcurrency ?? null,
    rate_limit: meta.rateLimit ? { max: meta.rateLimit.max, duration_ms: meta.rateLimit.durationMs } : null,
    rate_limit_starts: rateStarts ?? null,
    slots: meta.globalConcurrency === undefined ? wanted : Math.min(wanted, meta.globalConcurrency),
  };
}

// Stryker disable all: reading Redis, tested against a real Redis (test/backlog.test.ts); composeBacklog above is mutated
/** A positive whole number from a meta hash field, else undefined (unset, or removed). */
function positive(value: unknown): number | undefined {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The counts and limits of one queue, read from Redis. */
async function readQueue(queue: Queue, windowMs: number): Promise<{ counts: QueueCounts; meta: QueueMeta }> {
  // BullMQ scores a delayed job `timestamp_ms * 0x1000 + counter`, so "due by T" is one ZCOUNT
  // (getDelayedCount(T): jobs due strictly before T; +1 takes in those due at the window's end).
  // The clock is this process's, as BullMQ's own producers and workers use theirs. Whole ms:
  // BullMQ refuses a fractional cutoff (a window of 0.0005 s would otherwise be a 503).
  const dueBy = Math.floor(Date.now() + windowMs) + 1;
  const [counts, delayedDue, meta] = await Promise.all([
    // A paused queue keeps its jobs in `wait` (BullMQ ≥ 5 marks the pause in the meta hash).
    queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active'),
    queue.getDelayedCount(dueBy),
    queue.getMeta(),
  ]);
  const max = positive(meta.max);
  const durationMs = positive(meta.duration);
  return {
    counts: {
      waiting: counts.waiting ?? 0,
      prioritized: counts.prioritized ?? 0,
      delayed: counts.delayed ?? 0,
      delayedDue,
      active: counts.active ?? 0,
    },
    meta: {
      paused: meta.paused === true,
      globalConcurrency: positive(meta.concurrency),
      rateLimit: max !== undefined && durationMs !== undefined ? { max, durationMs } : undefined,
    },
  };
}

/** One queue's backlog over a window of `windowMs`; undefined when Redis does not answer within `timeoutMs`. */
export async function readQueueBacklog(queue: Queue, windowMs: number, timeoutMs: number): Promise<QueueBacklog | undefined> {
  const read = await within(readQueue(queue, windowMs), timeoutMs, undefined);
  return read && composeBacklog(read.counts, read.meta, windowMs);
}

/** The fleet's backlog: each queue's, and the totals an autoscaler reads (`backlog`, `slots`). */
export interface FleetBacklog {
  window_s: number;
  queues: Record<string, QueueBacklog>;
  backlog: number;
  slots: number;
}

/** Every queue's backlog, or the names of the queues Redis did not answer for. */
export async function readFleetBacklog(queues: readonly Queue[], windowMs: number, timeoutMs: number): Promise<{ backlog: FleetBacklog } | { missing: string[] }> {
  const read = await Promise.all(queues.map(async (queue) => [queue.name, await readQueueBacklog(queue, windowMs, timeoutMs)] as const));
  const missing = read.filter(([, backlog]) => backlog === undefined).map(([name]) => name);
  if (missing.length > 0) return { missing };
  const byQueue = Object.fromEntries(read) as Record<string, QueueBacklog>;
  const sum = (part: 'backlog' | 'slots') => Object.values(byQueue).reduce((total, queue) => total + queue[part], 0);
  return { backlog: { window_s: windowMs / 1000, queues: byQueue, backlog: sum('backlog'), slots: sum('slots') } };
}

import type { Queue } from 'bullmq';
import { within } from '../timeout.js';

/**
 * The job states that make up a queue's backlog: the work not yet finished. BullMQ keeps only
 * plain waiting jobs in the `wait` list; prioritized jobs and delayed ones (scheduled, or a
 * retry waiting out its backoff) live in sorted sets, so `LLEN bull:<q>:wait` undercounts.
 * Running (`active`) jobs count too: a pod running jobs is needed until they finish, and an
 * autoscaler that saw only the queued ones would scale in the moment workers took them,
 * draining pods mid-job.
 */
export const BACKLOG_STATES = ['waiting', 'prioritized', 'delayed', 'active'] as const;

export type BacklogState = (typeof BACKLOG_STATES)[number];
export type QueueBacklog = Record<BacklogState, number> & { backlog: number };

/** One queue's backlog, read in one BullMQ script call; undefined when Redis does not answer in time. */
export async function readQueueBacklog(queue: Queue, timeoutMs: number): Promise<QueueBacklog | undefined> {
  const counts = await within<Record<string, number> | undefined>(queue.getJobCounts(...BACKLOG_STATES), timeoutMs, undefined);
  if (!counts) return undefined;
  const parts = Object.fromEntries(BACKLOG_STATES.map((state) => [state, counts[state] ?? 0])) as Record<BacklogState, number>;
  return { ...parts, backlog: BACKLOG_STATES.reduce((sum, state) => sum + parts[state], 0) };
}

import type { EventEmitter } from 'node:events';
import type { JobTally } from '../ipc.js';
import type { RedisErrorKind } from '../redis-errors.js';
import type { SlotView } from './slot.js';
import type { Verification } from './verification.js';

export type ExitKind = 'crash' | 'recycle' | 'stop' | 'remove';

/** What the supervisor tells its observers (metrics, health, the fleet snapshot). */
export interface SupervisorEvents {
  /** Every slot reported ready (first time, and again after recovering). */
  'all-ready': [];
  /** Shutdown began: workers are draining. */
  stopping: [];
  /** Every worker has exited after shutdown. */
  stopped: [];
  /** A worker could not start in a way no restart mends (its processor cannot load): the start fails. */
  fatal: [error: Error];
  /** The supervisor went quiet: no worker takes new jobs until shutdown. */
  quiet: [];
  /** A worker's report: what its jobs did since the last one, under the names they are counted by. */
  'jobs-reported': [worker: string, tallies: readonly JobTally[]];
  'worker-exited': [worker: string, kind: ExitKind, detail: string];
  /** A worker's heartbeat says a new state (ready, quiet, draining): its registration should show it now. */
  'beat-changed': [worker: string];
  /** Redis commands a worker saw fail since its last such report, by kind. */
  'redis-errors': [counts: Partial<Record<RedisErrorKind, number>>];
  verified: [verification: Verification];
}

/**
 * The supervisor as the rest of the process sees it: what health, metrics and the admin routes
 * may read and ask. They depend on this, never on the Supervisor class and its slots.
 */
export interface WorkerPool extends Pick<EventEmitter<SupervisorEvents>, 'on' | 'once' | 'off'> {
  /** Every slot, as /health shows it. */
  view(): SlotView[];
  /** Jobs of `queue` running in this pool's workers now. */
  activeJobs(queue: string): number;
  /** Per job name statistics (job-stats.ts). */
  jobsByName(): Record<string, unknown>;
  /** Recycles one worker (by index) or all, rolling; the names recycled. */
  recycle(target: number | 'all'): Promise<string[]>;
  /** Changes the number of workers; the number it will run. */
  scaleTo(count: number): number;
  /** Quiet (Sidekiq's TSTP): no new jobs until shutdown; false when already quiet or stopping. */
  quiet(reason: string): boolean;
  readonly isQuiet: boolean;
  /** Shutdown has begun. */
  readonly stopping: boolean;
}

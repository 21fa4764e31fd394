import type { RedisClient } from '../redis.js';
import type { SlotView } from '../supervisor/slot.js';
import { fleetKeys } from './keys.js';

/**
 * Bounds on one snapshot whatever the processors do: about 1 KiB for a few idle workers, at
 * most ~150 KiB (20 workers × 20 listed jobs × three clipped fields of
 * jobs/job-names.ts's MAX_TEXT characters).
 */
export const MAX_JOBS_LISTED = 20;

/** A worker's state on the page: the slot's state, with a ready one that runs jobs shown busy. */
export type WorkerState = SlotView['state'] | 'busy';

export interface CurrentJob { queue: string; name: string; id: string; started_at: number }

export interface WorkerSnapshot {
  name: string;
  index: number;
  pid: number | null;
  state: WorkerState;
  rss_bytes: number | null;
  uptime_s: number;
  jobs_active: number;
  /** At most MAX_JOBS_LISTED of them; `jobs_active` says how many there are. */
  jobs: CurrentJob[];
  jobs_completed: number;
  jobs_failed: number;
  restarts: number;
  recycles: Record<string, number>;
  recycle_refused: string | null;
  last_exit: string | null;
}

/** What one supervisor publishes about itself and its workers, every heartbeat. */
export interface SupervisorSnapshot {
  host: string;
  pid: number;
  version: string;
  fingerprint: string;
  queues: readonly string[];
  concurrency: number;
  started_at: number;
  uptime_s: number;
  health_port: number | null;
  leader: boolean;
  quiet: boolean;
  restarts: number;
  at: number;
  workers: WorkerSnapshot[];
  /** The pool's size (WORKER_COUNT): autoscaled between min and max towards target, or fixed. */
  scaling?: { mode: 'fixed' | 'auto' | 'range'; current: number; min: number; max: number; target: number };
}

export { clip } from '../jobs/job-names.js';

/** The page's state of a slot: `busy` is a ready slot with jobs running. */
export function workerState(view: SlotView): WorkerState {
  return view.state === 'ready' && view.jobs_active > 0 ? 'busy' : view.state;
}

/**
 * Stores a snapshot with an expiry (a supervisor that dies stops refreshing it, and it
 * vanishes) and notes its host in the index the dashboard reads. A pipeline, not a MULTI (two
 * commands, not four): one connection keeps their order, so a reader that finds the host in the
 * index finds its snapshot too, and one that reads between the two misses a host for one poll.
 */
export async function publishSnapshot(redis: RedisClient, prefix: string, snapshot: SupervisorSnapshot, ttlMs: number): Promise<void> {
  const keys = fleetKeys(prefix);
  const replies = await redis.pipeline()
    .set(keys.snapshot(snapshot.host), JSON.stringify(snapshot), 'PX', ttlMs)
    .zadd(keys.snapshots, snapshot.at, snapshot.host)
    .exec();
  const failed = replies?.find(([error]) => error)?.[0];
  if (failed) throw failed;
}

export async function withdrawSnapshot(redis: RedisClient, prefix: string, host: string): Promise<void> {
  const keys = fleetKeys(prefix);
  await redis.multi().del(keys.snapshot(host)).zrem(keys.snapshots, host).exec();
}

/** Every live supervisor's snapshot, by host; hosts whose snapshot expired leave the index. */
export async function readSnapshots(redis: RedisClient, prefix: string): Promise<SupervisorSnapshot[]> {
  const keys = fleetKeys(prefix);
  const hosts = await redis.zrange(keys.snapshots, '0', '-1');
  if (hosts.length === 0) return [];
  const raw = await redis.mget(hosts.map((h) => keys.snapshot(h)));
  const gone: string[] = [];
  const snapshots: SupervisorSnapshot[] = [];
  raw.forEach((json, i) => {
    try {
      if (json) snapshots.push(JSON.parse(json) as SupervisorSnapshot);
      else gone.push(hosts[i]!);
    } catch {
      gone.push(hosts[i]!);
    }
  });
  if (gone.length > 0) await redis.zrem(keys.snapshots, ...gone);
  return snapshots.sort((a, b) => a.host.localeCompare(b.host));
}

import type { RedisClient } from '../redis.js';
import { readEvents, type FleetEvent } from '../fleet/events.js';
import { readSnapshots, type SupervisorSnapshot } from '../fleet/snapshot.js';

export interface FleetOverview {
  at: number;
  summary: {
    containers: number;
    quiet_containers: number;
    workers: number;
    busy_slots: number;
    total_slots: number;
    utilization_pct: number;
    rss_bytes: number;
    /** Hosts whose supervisor leads (one when all is well; none or two is worth a look). */
    leaders: string[];
    agreement: { consistent: boolean; fingerprints: Record<string, string[]>; versions: Record<string, string[]> };
  };
  containers: SupervisorSnapshot[];
  events: FleetEvent[];
}

const group = (snapshots: SupervisorSnapshot[], key: (s: SupervisorSnapshot) => string) => {
  const groups: Record<string, string[]> = {};
  for (const s of snapshots) (groups[key(s)] ??= []).push(s.host);
  return groups;
};

/** A slot counts as capacity while its worker lives (starting, ready, busy, quiet, draining). */
const hasProcess = (w: SupervisorSnapshot['workers'][number]) => w.pid !== null;

/** Pure: the page's summary of every live supervisor's snapshot. */
export function summarize(containers: SupervisorSnapshot[], events: FleetEvent[], now = Date.now()): FleetOverview {
  const workers = containers.flatMap((c) => c.workers.map((w) => ({ ...w, concurrency: c.concurrency })));
  const total = workers.filter(hasProcess).reduce((n, w) => n + w.concurrency, 0);
  const busy = workers.reduce((n, w) => n + Math.min(w.jobs_active, w.concurrency), 0);
  const fingerprints = group(containers, (c) => c.fingerprint);
  const versions = group(containers, (c) => c.version);
  return {
    at: now,
    summary: {
      containers: containers.length,
      quiet_containers: containers.filter((c) => c.quiet).length,
      workers: workers.length,
      busy_slots: busy,
      total_slots: total,
      utilization_pct: total === 0 ? 0 : Math.round((busy / total) * 1000) / 10,
      rss_bytes: workers.reduce((n, w) => n + (w.rss_bytes ?? 0), 0),
      leaders: containers.filter((c) => c.leader).map((c) => c.host),
      agreement: { consistent: Object.keys(fingerprints).length <= 1 && Object.keys(versions).length <= 1, fingerprints, versions },
    },
    containers,
    events,
  };
}

export async function readOverview(redis: RedisClient, prefix: string): Promise<FleetOverview> {
  const [containers, events] = await Promise.all([readSnapshots(redis, prefix), readEvents(redis, prefix, 50)]);
  return summarize(containers, events);
}

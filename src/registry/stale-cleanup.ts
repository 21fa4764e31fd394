import type { RedisClient as Redis } from '../redis.js';
import { liveHosts } from './members.js';
import { registryKeys } from './keys.js';
import { isAlive, isOrphanedWorker, killAndWait } from './local-process.js';
import { Registry, type HeldJob } from './registry.js';

export interface CleanupResult {
  removed: number;
  /** Jobs the removed workers still held, put back in their queues. */
  requeued: HeldJob[];
  /** Own-host entries left alone because their process is still running here. */
  skippedAlive: string[];
  /** Expired entries of other hosts left alone: their supervisor still publishes its presence. */
  skippedLivePeers: string[];
  /** Own-host workers that outlived their (SIGKILLed) supervisor: killed here, then cleaned up. */
  orphansKilled: string[];
}

const BATCH = 1000;

/**
 * Start-up clean-up: removes registrations left by an earlier run on this host (its container
 * was killed, so they can never be renewed) and any whose heartbeat expired anywhere in the
 * fleet, after returning the jobs they held to their queues. Batched and SCAN-based so a
 * registry of 100,000 entries does not block Redis.
 */
export async function removeStaleRegistrations(
  redis: Redis,
  options: {
    prefix: string; bullPrefix: string; staleAfterMs: number;
    /** This host: its earlier run's registrations go too. Unset (the CLI's prune): only the expired ones. */
    hostname?: string;
    /** The caller's registry (its poison count feeds /metrics); else one of our own. */
    registry?: Registry;
    /** Count the hand-backs as kills (their workers died with their container). */
    maxKills?: number;
  },
): Promise<CleanupResult> {
  const registry = options.registry ?? new Registry(redis, options.prefix, options.bullPrefix);
  const keys = registryKeys(options.prefix);
  const expired = new Set(await registry.expired(options.staleAfterMs));
  const ownHost = options.hostname === undefined ? [] : (await registry.ofHost(options.hostname)).filter((name) => !expired.has(name));
  const candidates = [...expired, ...ownHost];
  const result: CleanupResult = { removed: 0, requeued: [], skippedAlive: [], skippedLivePeers: [], orphansKilled: [] };
  let live: Set<string> | undefined;

  for (let start = 0; start < candidates.length; start += BATCH) {
    const batch = candidates.slice(start, start + BATCH);
    const pipeline = redis.pipeline();
    for (const name of batch) pipeline.hmget(keys.worker(name), 'pid', 'host', 'supervisor');
    pipeline.zmscore(keys.index, ...batch); // the heartbeats
    const replies = (await pipeline.exec()) ?? [];
    const heartbeats = (replies[batch.length]?.[1] ?? []) as Array<string | null>;
    const now = await registry.clock.now(); // heartbeats are stamped with Redis's TIME
    live ??= await liveHosts(redis, options.prefix, options.staleAfterMs, now);
    const removable: string[] = [];
    for (const [i, name] of batch.entries()) {
      const [pid, host, supervisor] = (replies[i]?.[1] ?? []) as Array<string | null>;
      const heartbeat = heartbeats[i];
      // `worker-chaos-*` also matches host chaos-peer-2's `worker-chaos-peer-2-1`: a name found
      // by this host's pattern is ours only if its registration says so (else a live peer's
      // running job was taken when its pid was not alive here: another container's).
      if (!expired.has(name) && host !== options.hostname) continue;
      // Another host's worker whose supervisor still publishes its presence: late (hung, or a
      // slow machine), not dead, and its supervisor's own business (hang watchdog, reclaim on
      // exit) — the dead-peer sweep's rule. Taken here, its running job ran twice.
      if (host && host !== options.hostname && live.has(host)) {
        result.skippedLivePeers.push(name);
        continue;
      }
      const fresh = now - Number(heartbeat ?? 0) < options.staleAfterMs;
      // Our own earlier run's worker, still alive because its supervisor was SIGKILLed (mid-drain,
      // OOM) and it has not noticed yet. Left alone, its registration would be replaced by our
      // new worker of that name, and when it died nobody would know its BullMQ ids: its jobs
      // would wait for BullMQ's stall check. It is ours and dying anyway: end it now, clean up.
      if (host === options.hostname && isOrphanedWorker(Number(pid), Number(supervisor)) && (await killAndWait(Number(pid)))) {
        result.orphansKilled.push(name);
        removable.push(name);
        continue;
      }
      // A same-named process still alive here means a second supervisor shares this hostname:
      // taking its jobs would run them twice, so leave it to heartbeat expiry.
      if (!expired.has(name) && fresh && isAlive(Number(pid))) {
        result.skippedAlive.push(name);
        continue;
      }
      removable.push(name);
    }
    // One scan of each queue's active list per batch, whatever the number of dead workers. The
    // jobs of orphans we killed count no kill: their supervisor died, not they (counted, a job
    // drained through a few supervisor kills failed as poison: chaos seed 4238, 2 of 500).
    const orphans = removable.filter((name) => result.orphansKilled.includes(name));
    result.requeued.push(...(await registry.reclaimAll(removable.filter((name) => !orphans.includes(name)), { maxKills: options.maxKills })));
    if (orphans.length > 0) result.requeued.push(...(await registry.reclaimAll(orphans)));
    await registry.remove(removable);
    result.removed += removable.length;
  }
  return result;
}

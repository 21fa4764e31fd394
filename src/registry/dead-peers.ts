import { randomUUID } from 'node:crypto';
import type { RedisClient as Redis } from '../redis.js';
import type { Logger } from '../log.js';
import { liveHosts } from './fleet.js';
import { registryKeys } from './keys.js';
import { logReclaimed, type Registry } from './registry.js';

export interface DeadPeerOptions {
  prefix: string;
  /** This supervisor's host, for the lock's value and the logs. */
  hostname: string;
  /** A registration (and a supervisor's presence) this old is dead: 3 missed heartbeats. */
  staleAfterMs: number;
  /** HEARTBEAT_SECONDS in ms: Redis not taking writes for longer may have silenced live peers. */
  heartbeatMs: number;
  /** How often to look; a dead peer's jobs wait at most staleAfterMs + this (+ the reclaim). */
  everyMs: number;
  maxKills: number;
}

/** Releases the lock only if it is still ours (it may have expired and been taken since). */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * While this supervisor runs, returns the jobs of workers of OTHER supervisors that died with
 * their whole container (docker kill, a lost host, a rescheduled pod) and that nothing will
 * restart: without this they wait for BullMQ's stall check (lock 30 s + check every 30 s).
 *
 * Safe against taking a live worker's job: a worker is dead only when its registration's
 * heartbeat expired AND its host's supervisor has not published its presence for as long.
 * A worker whose own heartbeat lags (a stuck event loop) while its supervisor lives is that
 * supervisor's business (hang watchdog, reclaim on exit). Moves are by lock token, so a job
 * that moved on meanwhile is left alone; kills are counted once per token whoever counts.
 *
 * Not right after an outage: heartbeats stop for everyone while Redis refuses or holds writes
 * (restarting, a Sentinel failover), so after one, peers are judged only once this
 * supervisor's own writes have gone through promptly for a stale period. Only an outage seen
 * resets that clock, not our own start: a supervisor started beside a dead peer reclaims it at
 * once (the restarted survivor of a lost host must not leave its jobs to BullMQ's stall check).
 *
 * One sweeper a tick for the whole fleet (the sweep token, see tick), and one reclaimer at a
 * time: a short Redis lock (SET NX PX), not the leader. The leader may be
 * the very peer that died, and a new one is elected only after LEADER_TTL_SECONDS (15 s),
 * which alone would miss the goal of 3 heartbeats + 2 s; any survivor can take the lock.
 */
export function reclaimDeadPeers(redis: Redis, registry: Registry, options: DeadPeerOptions, log: Logger): { stop(): void } {
  const lockKey = `${registryKeys(options.prefix).index}:reclaim-lock`;
  const probeKey = `${registryKeys(options.prefix).index}:write-probe`;
  const sweepKey = `${registryKeys(options.prefix).index}:sweep`;
  const lockMs = Math.max(5000, options.staleAfterMs);
  /** Since when our own writes have gone through promptly; undefined while they fail. */
  let writableSince: number | undefined = Number.NEGATIVE_INFINITY;
  let busy = false;
  /**
   * A write (or the reads after it) held so long that a live peer's writes, held as long, could
   * have let its heartbeat expire: a peer beats every heartbeat and is stale after
   * staleAfterMs, so only a hold longer than staleAfterMs − heartbeat can fake a death. A
   * shorter bar (one heartbeat) was crossed by plain CPU load on a busy 2-core machine, kept
   * resetting the clock, and left dead peers' jobs to BullMQ's stall check (chaos: 10 stranded).
   */
  const heldUp = (since: number) => Date.now() - since > options.staleAfterMs - options.heartbeatMs;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const probedAt = Date.now();
      const mayJudge = writableSince !== undefined && probedAt - writableSince >= options.staleAfterMs;
      let sweeps: boolean;
      try {
        // One write a tick, two uses: it probes our writes (below), and, once we may judge, it
        // is the fleet's sweep token (SET NX PX): the first supervisor to ask in a period sweeps
        // for everyone, the others only probe. So a fleet sweeps about once a tick, not once a
        // tick per supervisor (issue 21, goal 4). The token lives a little less than a tick,
        // so a lone supervisor wins it every tick.
        sweeps = mayJudge
          ? (await redis.set(sweepKey, options.hostname, 'PX', Math.max(1, Math.floor(options.everyMs * 0.8)), 'NX')) === 'OK'
          : (await redis.set(probeKey, options.hostname, 'PX', lockMs), false);
      } catch (error) {
        writableSince = undefined;
        throw error;
      }
      // Our connection queues (and, at a failover, resends) a write Redis does not take: a
      // slow probe is an outage we lived through, a failed one an outage still going on.
      if (writableSince === undefined || heldUp(probedAt)) writableSince = Date.now();
      if (!sweeps || Date.now() - writableSince < options.staleAfterMs) return;
      const expired = await registry.expired(options.staleAfterMs);
      if (expired.length === 0) return;
      const pipeline = redis.pipeline();
      for (const name of expired) pipeline.hget(registryKeys(options.prefix).worker(name), 'host');
      const hosts = ((await pipeline.exec()) ?? []).map(([, host]) => host as string | null);
      const live = await liveHosts(redis, options.prefix, options.staleAfterMs);
      const dead = expired.filter((_, i) => !live.has(hosts[i] ?? ''));
      if (dead.length === 0) return;
      if (heldUp(probedAt)) {
        writableSince = Date.now(); // an outage began after the probe: what we read may be its silence
        return;
      }
      const token = `${options.hostname}:${randomUUID()}`;
      if ((await redis.set(lockKey, token, 'PX', lockMs, 'NX')) !== 'OK') return;
      try {
        const moved = await registry.reclaimAll(dead, { maxKills: options.maxKills });
        await registry.remove(dead);
        log.warn({ workers: dead, hosts: [...new Set(hosts.filter((h, i) => h && dead.includes(expired[i]!)))] }, `removed ${dead.length} registration(s) of dead peers (heartbeat and supervisor silent)`);
        logReclaimed(log, { workers: dead }, moved, 'of dead peers');
      } finally {
        await redis.eval(RELEASE, 1, lockKey, token);
      }
    } catch (error) {
      log.debug({ err: error }, 'could not check for dead peers');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), options.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

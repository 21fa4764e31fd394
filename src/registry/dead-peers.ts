import { randomUUID } from 'node:crypto';
import type { RedisClient as Redis } from '../redis.js';
import type { Logger } from '../log.js';
import { liveHosts } from './members.js';
import { registryKeys } from './keys.js';
import { logReclaimed, type Registry } from './registry.js';
import type { WriteWatch } from './write-watch.js';

export interface DeadPeerOptions {
  prefix: string;
  /** This supervisor's host, for the lock's value and the logs. */
  hostname: string;
  /** A registration (and a supervisor's presence) this old is dead: 3 missed heartbeats. */
  staleAfterMs: number;
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
 * Not right after an outage (WriteWatch): heartbeats stop for everyone while Redis refuses or
 * holds writes, so after one, peers are judged only once this supervisor's own writes have
 * gone through promptly for a stale period. Only an outage seen resets that clock, not our own
 * start: a supervisor started beside a dead peer reclaims it at once.
 *
 * Cheap at rest, since every supervisor of the fleet does this: no heartbeat can expire before the oldest one in the index
 * does, so a look reads that one score and sleeps until it could (about every stale period less
 * a heartbeat: one ZRANGE per supervisor); only when something expired is there a write — the
 * fleet's sweep token (SET NX PX), so one supervisor a tick judges for everyone, which also
 * probes our writes right before judging. One reclaimer at a time: a short Redis lock, not the
 * leader, which may be the very peer that died (a new one is elected only after
 * LEADER_TTL_SECONDS, which alone would miss the goal of 3 heartbeats + 2 s).
 */
export function reclaimDeadPeers(redis: Redis, registry: Registry, writes: WriteWatch, options: DeadPeerOptions, log: Logger): { stop(): void } {
  const keys = registryKeys(options.prefix);
  const lockMs = Math.max(5000, options.staleAfterMs);
  /** Nothing can have expired before then (this process's clock). */
  let nextLookAt = Number.NEGATIVE_INFINITY;
  let busy = false;
  /** How long until the oldest heartbeat in the index expires, in ms (≤ 0: it has); a stale period with none. */
  const untilFirstExpiry = async (): Promise<number> => {
    const [, score] = await redis.zrange(keys.index, '0', '0', 'WITHSCORES');
    return score === undefined ? options.staleAfterMs : Number(score) + options.staleAfterMs - (await registry.clock.now());
  };
  const tick = async () => {
    if (busy || Date.now() < nextLookAt) return;
    busy = true;
    try {
      const untilMs = await untilFirstExpiry();
      if (untilMs >= 0) {
        nextLookAt = Date.now() + Math.min(untilMs, options.staleAfterMs);
        return;
      }
      if (!writes.mayJudge()) return;
      const probedAt = Date.now();
      // The fleet's sweep token: the first supervisor to ask in a tick judges for everyone. The
      // token lives a little less than a tick, so a lone supervisor wins it every tick.
      let sweeps: boolean;
      try {
        sweeps = (await redis.set(keys.sweep, options.hostname, 'PX', Math.max(1, Math.floor(options.everyMs * 0.8)), 'NX')) === 'OK';
      } catch (error) {
        writes.failed();
        throw error;
      }
      writes.wrote(probedAt);
      if (!sweeps || !writes.mayJudge()) return;
      const expired = await registry.expired(options.staleAfterMs);
      if (expired.length === 0) return;
      const pipeline = redis.pipeline();
      for (const name of expired) pipeline.hget(keys.worker(name), 'host');
      const hosts = ((await pipeline.exec()) ?? []).map(([, host]) => host as string | null);
      const live = await liveHosts(redis, options.prefix, options.staleAfterMs, await registry.clock.now());
      const dead = expired.filter((_, i) => !live.has(hosts[i] ?? ''));
      if (dead.length === 0) return;
      if (writes.heldUp(probedAt)) {
        writes.restart(); // an outage began after the probe: what we read may be its silence
        return;
      }
      const token = `${options.hostname}:${randomUUID()}`;
      if ((await redis.set(keys.reclaimLock, token, 'PX', lockMs, 'NX')) !== 'OK') return;
      try {
        const moved = await registry.reclaimAll(dead, { maxKills: options.maxKills });
        await registry.remove(dead);
        log.warn({ workers: dead, hosts: [...new Set(hosts.filter((h, i) => h && dead.includes(expired[i]!)))] }, `removed ${dead.length} registration(s) of dead peers (heartbeat and supervisor silent)`);
        logReclaimed(log, { workers: dead }, moved, 'of dead peers');
      } finally {
        await redis.eval(RELEASE, 1, keys.reclaimLock, token);
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

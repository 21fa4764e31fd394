import type { Logger } from '../log.js';
import { REDIS_SOCKET_TIMEOUT_MS } from '../redis.js';
import type { Registry } from '../registry/registry.js';
import { RESYNC_MS } from '../registry/redis-clock.js';
import { within } from '../timeout.js';
import type { Slot } from './slot.js';

/**
 * A worker whose heartbeat has not reached Redis for this long, while its supervisor's does, is
 * replaced: a stale period (3 heartbeats) and a socket timeout, the time its connections had to
 * come back by themselves (their own timeouts reconnect them well within it).
 */
export function unreachableAfterMs(staleAfterMs: number): number {
  return staleAfterMs + REDIS_SOCKET_TIMEOUT_MS;
}

/**
 * The backstop for half-open Redis connections (a NAT or a failover dropping packets without a
 * reset, which ioredis never notices): a worker alive (it answers over IPC, so the
 * hang watchdog leaves it alone) but cut off from Redis — no heartbeat lands, no job is taken,
 * its locks lapse — that did not recover by itself within unreachableAfterMs is replaced. Only
 * while this supervisor reaches Redis itself (else the whole process is cut off: /livez's
 * business), judged on Redis's clock, one ZMSCORE of its own workers per heartbeat.
 */
export function replaceUnreachableWorkers(options: {
  slots: () => readonly Slot[];
  registry: Registry;
  staleAfterMs: number;
  everyMs: number;
  log: Logger;
  replace: (slot: Slot, silentMs: number) => void;
}): { stop(): void } {
  const boundMs = unreachableAfterMs(options.staleAfterMs);
  let busy = false;
  // Since when this supervisor has reached Redis without a break: right after an outage every
  // worker's heartbeat is old, and none of them is to blame (they reconnect within a heartbeat).
  let reachingSince = Number.POSITIVE_INFINITY;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      // Redis answers the clock's TIME every RESYNC_MS: a longer silence is an outage.
      if (options.registry.clock.unansweredMs() > RESYNC_MS + 2000) {
        reachingSince = Number.POSITIVE_INFINITY;
        return;
      }
      if (reachingSince === Number.POSITIVE_INFINITY) reachingSince = Date.now();
      if (Date.now() - reachingSince < boundMs) return;
      const live = options.slots().filter((s) => s.child && (s.state === 'ready' || s.state === 'quiet' || s.state === 'draining') && Date.now() - (s.startedAt ?? Date.now()) > boundMs);
      if (live.length === 0) return;
      const read = async () => ({ now: await options.registry.clock.now(), beats: await options.registry.heartbeatsOf(live.map((s) => s.name)) });
      const seen = await within(read(), 2000, undefined);
      if (!seen) return; // this supervisor cannot reach Redis right now either
      live.forEach((slot, i) => {
        const beat = seen.beats[i];
        if (beat === null || beat === undefined) return; // not registered (yet, or any more): nothing to judge
        const silentMs = seen.now - beat;
        if (silentMs > boundMs && slot.child) options.replace(slot, silentMs);
      });
    } catch (error) {
      options.log.debug({ err: error }, 'could not check whether the workers reach Redis');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), options.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

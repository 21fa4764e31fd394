import type { Logger } from '../log.js';
import { REDIS_SOCKET_TIMEOUT_MS } from '../redis.js';
import { provenAt } from '../registry/container-heartbeat.js';
import { CLOCK_STALE_MS, type RedisClock } from '../registry/redis-clock.js';
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
 * reset, which ioredis never notices): a worker alive (it answers over IPC, so the hang watchdog
 * leaves it alone) but cut off from Redis — no job is taken, its locks lapse — that did not
 * recover by itself within unreachableAfterMs is replaced. Only while this supervisor reaches
 * Redis itself (else the whole process is cut off: /livez's business). Judged on what the
 * workers' heartbeats say (provenAt: alive and their connections up), the same instant the
 * registry's heartbeat stands for, measured on this process's clock alone: no Redis command.
 */
export function replaceUnreachableWorkers(options: {
  slots: () => readonly Slot[];
  clock: RedisClock;
  staleAfterMs: number;
  everyMs: number;
  log: Logger;
  replace: (slot: Slot, silentMs: number) => void;
}): { stop(): void } {
  const boundMs = unreachableAfterMs(options.staleAfterMs);
  // Since when this supervisor has reached Redis without a break: right after an outage every
  // worker's connections have been down, and none of them is to blame (they reconnect soon).
  let reachingSince = Number.POSITIVE_INFINITY;
  const tick = () => {
    // Redis answers this supervisor's heartbeat (or the clock's TIME) within CLOCK_STALE_MS: a longer silence is an outage.
    if (options.clock.unansweredMs() > CLOCK_STALE_MS + 2000) {
      reachingSince = Number.POSITIVE_INFINITY;
      return;
    }
    const now = Date.now();
    if (reachingSince === Number.POSITIVE_INFINITY) reachingSince = now;
    if (now - reachingSince < boundMs) return;
    for (const slot of options.slots()) {
      if (!slot.child || !slot.beat || (slot.state !== 'ready' && slot.state !== 'quiet' && slot.state !== 'draining')) continue;
      if (now - (slot.startedAt ?? now) <= boundMs) continue;
      const silentMs = now - provenAt(slot.beat);
      if (silentMs > boundMs) options.replace(slot, silentMs);
    }
  };
  const timer = setInterval(tick, options.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** When a leader renews, how long it trusts its lease, and how often followers try. */
export interface LeaseTiming {
  ttlMs: number;
  /** How long after SENDING a successful acquire/renew the holder still counts itself leader. */
  validForMs: number;
  /** What is kept back from the ttl for clock drift and timer lateness. */
  safetyMarginMs: number;
  /** The leader renews this often (a third of the ttl: two tries before its deadline). */
  renewEveryMs: number;
  /** A follower tries this often at most (sooner when the lease is known to expire sooner). */
  retryEveryMs: number;
}

/** The smallest ttl that leaves room for a renewal before the deadline. */
export const MIN_TTL_MS = 1000;

/**
 * Margin: max(1 s, 10 % of the ttl), but never more than a third of it, so that even a short
 * ttl leaves the leader two renewal attempts (at ttl/3 and 2·ttl/3) before its deadline
 * (at ttl − margin ≥ 2·ttl/3). With the default 15 s: margin 1.5 s, renew every 5 s.
 */
export function leaseTiming(ttlMs: number, safetyMarginMs?: number): LeaseTiming {
  if (!Number.isFinite(ttlMs) || ttlMs < MIN_TTL_MS) {
    throw new RangeError(`leader lease ttl must be at least ${MIN_TTL_MS} ms, got ${ttlMs}`);
  }
  const margin = safetyMarginMs ?? Math.min(Math.max(1000, ttlMs / 10), ttlMs / 3);
  if (!(margin >= 0 && margin < ttlMs - ttlMs / 3)) {
    throw new RangeError(`leader safety margin must be between 0 and 2/3 of the ttl (${ttlMs} ms), got ${margin}`);
  }
  return {
    ttlMs,
    validForMs: ttlMs - margin,
    safetyMarginMs: margin,
    renewEveryMs: ttlMs / 3,
    retryEveryMs: ttlMs / 3,
  };
}

/**
 * A follower's next try: when the holder's lease runs out (plus a little jitter so that
 * followers do not all hit Redis in the same millisecond), but no later than the retry
 * interval (jittered down by up to 20 %) — the holder may release it early.
 */
export function followerDelay(timing: LeaseTiming, ttlLeftMs: number | null, random: () => number = Math.random): number {
  const retry = timing.retryEveryMs * (0.8 + 0.2 * random());
  if (ttlLeftMs === null) return retry;
  return Math.min(retry, ttlLeftMs + 5 + 45 * random());
}

import type { RedisClient as Redis } from '../redis.js';
import type { Logger } from '../log.js';

/** The leader election's options, events and status (leader-election.ts). */
export interface LeaderOptions {
  /**
   * A connection for plain commands (not one BullMQ blocks on). The election also opens one
   * duplicate of it to subscribe to release notices.
   */
  redis: Redis;
  /** The lease key, `leaderKey(prefix)`; its fencing counter and channel are derived from it. */
  key: string;
  /** Unique across the fleet, e.g. `${hostname}:${pid}`; what `leaderId()` reports. */
  id: string;
  /** Lease length (LEADER_TTL_SECONDS × 1000); a dead leader is replaced within about this. */
  ttlMs: number;
  log: Logger;
  /** @defaultValue max(1 s, 10 % of ttlMs), at most ttlMs / 3 */
  safetyMarginMs?: number;
}

export interface Elected {
  fencingToken: number;
}

export interface Demoted {
  reason: string;
  /** Wall-clock time (ms) at which this process stopped counting itself leader. */
  leaderUntil: number;
}

export interface LeaderEvents {
  elected: [Elected];
  demoted: [Demoted];
}

/** For `/health` and metrics: synchronous, no Redis round trip. */
export interface LeaderStatus {
  leader: boolean;
  id: string;
  fencingToken: number | null;
  /** How much longer this leader trusts its lease without another renewal. */
  leaseRemainingMs: number | null;
}

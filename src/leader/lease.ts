import type { RedisClient as Redis } from '../redis.js';

/**
 * The Redis side of leadership: one key holding the leader's id with an expiry (the lease),
 * a counter that grows on every acquisition (the fencing token), and a channel on which a
 * leader that steps down says so, so that followers take over at once instead of waiting.
 *
 * Why not redlock (npm `redlock`, the usual choice): its stable 4.x is written for older
 * ioredis, 5.x has stayed a beta for years, and what it adds — a quorum over N independent
 * Redis masters, retry-until-acquired, `using()` auto-extension — is not what a fleet sharing
 * ONE Redis needs. What we need it does not give: "take the key if free OR already mine"
 * (re-acquire after a local demotion), a fencing token INCR'd atomically with the
 * acquisition, the key's remaining life (so followers try again exactly when it expires) and
 * a release notice. Those are three short Lua scripts, so they are written here.
 */

/** The keys of one election, all derived from the lease key (`${prefix}:leader`). */
export function leaseKeys(key: string) {
  return { lease: key, fence: `${key}:fence`, released: `${key}:released` } as const;
}
export type LeaseKeys = ReturnType<typeof leaseKeys>;

/** The key bouy's supervisors compete for. */
export function leaderKey(prefix: string): string {
  return `${prefix}:leader`;
}

// KEYS[1] lease, KEYS[2] fence; ARGV[1] id, ARGV[2] ttl ms, ARGV[3] '1' if a free key may be taken.
// Returns {1, token} when the lease is now ours (new or already ours: extended, new token),
// {0, holder|false, pttl} otherwise.
const ACQUIRE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or (not holder and ARGV[3] == '1') then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, redis.call('INCR', KEYS[2])}
end
return {0, holder, redis.call('PTTL', KEYS[1])}`;

// Compare-and-extend: only the holder extends, and never a key that has already expired.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

// Compare-and-delete, then tell the followers.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], ARGV[1])
  return 1
end
return 0`;

export type AcquireResult =
  | { acquired: true; token: number }
  | { acquired: false; holder: string | null; ttlLeftMs: number | null };

export async function acquireLease(redis: Redis, keys: LeaseKeys, id: string, ttlMs: number, mayTakeFree: boolean): Promise<AcquireResult> {
  const reply = (await redis.eval(ACQUIRE, 2, keys.lease, keys.fence, id, Math.round(ttlMs), mayTakeFree ? '1' : '0')) as [number, ...unknown[]];
  if (reply[0] === 1) return { acquired: true, token: Number(reply[1]) };
  const holder = typeof reply[1] === 'string' ? reply[1] : null;
  const pttl = Number(reply[2]);
  return { acquired: false, holder, ttlLeftMs: pttl >= 0 ? pttl : null };
}

export async function renewLease(redis: Redis, keys: LeaseKeys, id: string, ttlMs: number): Promise<boolean> {
  return (await redis.eval(RENEW, 1, keys.lease, id, Math.round(ttlMs))) === 1;
}

export async function releaseLease(redis: Redis, keys: LeaseKeys, id: string): Promise<boolean> {
  return (await redis.eval(RELEASE, 2, keys.lease, keys.released, id)) === 1;
}

/** Who holds the lease now (for `bouy workers`, which runs no election of its own). */
export async function readLeader(redis: Redis, key: string): Promise<string | null> {
  return redis.get(key);
}

/**
 * How long this Redis has been running, from `INFO server` (whole seconds, rounded down), or
 * null when it will not say (INFO renamed away, as some managed Redis services do).
 */
export async function redisUptimeMs(redis: Redis): Promise<number | null> {
  let info: string;
  try {
    info = await redis.info('server');
  } catch {
    return null;
  }
  const match = /^uptime_in_seconds:(\d+)/m.exec(info);
  return match ? Number(match[1]) * 1000 : null;
}

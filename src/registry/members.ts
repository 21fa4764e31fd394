import { createHash } from 'node:crypto';
import type { RedisClient as Redis } from '../redis.js';
import { registryKeys } from './keys.js';

/*
 * The fleet's member records in Redis: each supervisor's configuration fingerprint and image
 * version under its host, and which hosts are alive. A supervisor's presence among them is
 * fleet/presence.ts; the fleet page's data is the rest of fleet/.
 */

/** What one supervisor tells the fleet about itself: its configuration and image version. */
export interface FleetMember {
  host: string;
  fingerprint: string;
  version: string;
  settings: Record<string, unknown>;
  /** When it was published, on Redis's clock (RedisClock). */
  at: number;
}

export interface FleetView {
  /** Every live supervisor runs the same configuration and version. */
  consistent: boolean;
  members: Array<Omit<FleetMember, 'settings'> & { age_s: number; differs: boolean }>;
  /** Per setting that differs: which hosts have which value. */
  differences: Array<{ setting: string; values: Record<string, string[]> }>;
}

const fleetKey = (prefix: string) => registryKeys(prefix).fleet;

/** A short stable hash of settings (keys sorted), equal on every identically configured host. */
export function fingerprint(settings: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.keys(settings).sort().map((k) => [k, settings[k]]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

export async function publishMember(redis: Redis, prefix: string, member: FleetMember): Promise<void> {
  await redis.hset(fleetKey(prefix), member.host, JSON.stringify(member));
}

export async function withdrawMember(redis: Redis, prefix: string, host: string): Promise<void> {
  await redis.hdel(fleetKey(prefix), host);
}

/**
 * Hosts whose supervisor published its presence within `staleAfterMs` before `now`: alive, by
 * their own account. `now` and every `at` are on Redis's clock (RedisClock), never a host's own.
 */
export async function liveHosts(redis: Redis, prefix: string, staleAfterMs: number, now: number): Promise<Set<string>> {
  const live = new Set<string>();
  for (const [host, json] of Object.entries(await redis.hgetall(fleetKey(prefix)))) {
    try {
      if (now - (JSON.parse(json) as FleetMember).at <= staleAfterMs) live.add(host);
    } catch {
      // unreadable: not a sign of life
    }
  }
  return live;
}

/**
 * The fleet as Redis knows it, members silent for longer than `staleAfterMs` before `now`
 * (Redis's clock) left out (and removed). Differences name the setting and which hosts hold which value — e.g. one
 * container still on the old image.
 */
export async function readFleet(redis: Redis, prefix: string, staleAfterMs: number, now: number): Promise<FleetView> {
  const raw = await redis.hgetall(fleetKey(prefix));
  const members: FleetMember[] = [];
  const gone: string[] = [];
  for (const [host, json] of Object.entries(raw)) {
    try {
      const member = JSON.parse(json) as FleetMember;
      if (now - member.at > staleAfterMs) gone.push(host);
      else members.push(member);
    } catch {
      gone.push(host);
    }
  }
  if (gone.length > 0) await redis.hdel(fleetKey(prefix), ...gone);
  const tally = new Map<string, number>();
  for (const m of members) tally.set(m.fingerprint, (tally.get(m.fingerprint) ?? 0) + 1);
  const majority = [...tally].sort((a, b) => b[1] - a[1])[0]?.[0];
  const settingNames = new Set(members.flatMap((m) => Object.keys(m.settings)));
  const differences: FleetView['differences'] = [];
  for (const setting of [...settingNames].sort()) {
    const values: Record<string, string[]> = {};
    for (const m of members) (values[JSON.stringify(m.settings[setting]) ?? 'undefined'] ??= []).push(m.host);
    if (Object.keys(values).length > 1) differences.push({ setting, values });
  }
  return {
    consistent: tally.size <= 1,
    members: members
      .sort((a, b) => a.host.localeCompare(b.host))
      .map(({ settings: _settings, ...m }) => ({ ...m, age_s: Math.round((now - m.at) / 100) / 10, differs: m.fingerprint !== majority })),
    differences,
  };
}

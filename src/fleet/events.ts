import type { RedisClient } from '../redis.js';
import { fleetKeys } from './keys.js';

/** How many events the fleet keeps (one LTRIM per write keeps the list at this). */
export const MAX_EVENTS = 200;
const MAX_MESSAGE = 300;

export type FleetEventKind = 'restart' | 'crash-loop' | 'recycle' | 'leader' | 'stale-removed' | 'quiet' | 'resize' | 'command';

export interface FleetEvent {
  at: number;
  host: string;
  kind: FleetEventKind;
  worker?: string;
  message: string;
}

/** Appends one event to the fleet's capped list; never throws (an event is not worth a crash). */
export async function recordEvent(redis: RedisClient, prefix: string, event: Omit<FleetEvent, 'at'>): Promise<void> {
  const entry: FleetEvent = { at: Date.now(), ...event, message: event.message.slice(0, MAX_MESSAGE) };
  const key = fleetKeys(prefix).events;
  await redis.multi().lpush(key, JSON.stringify(entry)).ltrim(key, 0, MAX_EVENTS - 1).exec().catch(() => undefined);
}

/** The latest `count` events, newest first (unreadable entries skipped). */
export async function readEvents(redis: RedisClient, prefix: string, count = 50): Promise<FleetEvent[]> {
  const raw = await redis.lrange(fleetKeys(prefix).events, 0, Math.min(count, MAX_EVENTS) - 1);
  return raw.flatMap((json) => {
    try {
      return [JSON.parse(json) as FleetEvent];
    } catch {
      return [];
    }
  });
}

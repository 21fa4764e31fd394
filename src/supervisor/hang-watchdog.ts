import type { Slot } from './slot.js';

/**
 * The ready slots whose worker has said nothing over IPC for longer than `limitMs`: its event
 * loop is stuck (a synchronous loop, a deadlocked native call), so it renews no lock and takes
 * no job — Gunicorn's `timeout`. Its heartbeat comes from a timer, so silence means stuck, not
 * busy. Only ready (or quiet) workers: a starting one may be importing a large module. 0 = never.
 */
export function hungSlots(slots: readonly Slot[], limitMs: number, now: number): Slot[] {
  if (limitMs <= 0) return [];
  return slots.filter((slot) => slot.child !== undefined && (slot.state === 'ready' || slot.state === 'quiet') && now - slot.lastSeen > limitMs);
}

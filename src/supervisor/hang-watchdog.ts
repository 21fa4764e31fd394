import type { Slot } from './slot.js';

/**
 * The slots whose worker has said nothing over IPC for longer than `limitMs`: its event loop is
 * stuck (a synchronous loop, a deadlocked native call), so it renews no lock and takes no job —
 * Gunicorn's `timeout`. Its heartbeat comes from a timer, so silence means stuck, not busy.
 * Ready, quiet and draining workers (a draining one beats until it exits: hung by its job at a
 * shutdown, it held that job until the drain deadline and the abort grace — chaos: stranded
 * 5.7 s; 28 s with the default SHUTDOWN_TIMEOUT_SECONDS). Not a starting one: it may be
 * importing a large module. 0 = never.
 */
export function hungSlots(slots: readonly Slot[], limitMs: number, now: number): Slot[] {
  if (limitMs <= 0) return [];
  return slots.filter((slot) => slot.child !== undefined && (slot.state === 'ready' || slot.state === 'quiet' || slot.state === 'draining') && now - slot.lastSeen > limitMs);
}

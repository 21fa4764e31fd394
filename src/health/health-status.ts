import type { SlotView } from '../supervisor/slot.js';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/**
 * healthy: Redis answers and every slot consumes. degraded: some slots are restarting or
 * draining but at least one consumes. unhealthy: Redis is gone or nothing consumes — the only
 * case an orchestrator should act on, hence the only 503.
 */
export function healthStatus(redisOk: boolean, slots: readonly SlotView[]): HealthStatus {
  const ready = slots.filter((s) => s.state === 'ready').length;
  if (!redisOk || ready === 0) return 'unhealthy';
  return ready === slots.length ? 'healthy' : 'degraded';
}

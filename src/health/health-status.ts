import type { SlotView } from '../supervisor/slot.js';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy' | 'quiet';

export interface HealthAssessment {
  status: HealthStatus;
  /** /readyz: Redis answers, every slot is ready and every queue is consumed. */
  ready: boolean;
  /** Why it is not healthy, for people: empty when healthy. */
  reasons: string[];
}

/**
 * healthy: Redis answers, every slot consumes and no worker reports errors. degraded (200):
 * Redis refuses writes (`writeRefusal`: out of memory), some slots are restarting or draining, or some workers fail on a queue that others still
 * consume. unhealthy (503): Redis is gone, or nothing consumes — no ready slot, or every queue's
 * every ready worker fails in a loop (a poisoned key, a broken script) — the only case an
 * orchestrator should act on. quiet (200): told to take no new jobs (SIGTSTP), finishing its
 * running ones — alive on purpose, not a reason to kill it; not ready.
 *
 * Readiness is stricter: a queue whose every ready worker fails is not being consumed, so
 * /readyz answers 503 while that lasts even if other queues are fine (and /health says which).
 */
export function assessHealth(redisOk: boolean, slots: readonly SlotView[], queues: readonly string[] = [], writeRefusal?: string): HealthAssessment {
  const ready = slots.filter((s) => s.state === 'ready');
  const reasons: string[] = [];
  if (!redisOk) reasons.push('Redis is unreachable');
  // Redis answers but refuses writes (full): jobs may still finish, heartbeats and new jobs do
  // not — degraded and not ready, not unhealthy (a restart frees no memory in Redis).
  if (redisOk && writeRefusal) reasons.push(writeRefusal);
  if (ready.length === 0) reasons.push('no worker is ready');
  else if (ready.length < slots.length) reasons.push(`${slots.length - ready.length} of ${slots.length} workers not ready`);

  const failing = new Map<string, { workers: number; count: number; error: string }>();
  for (const slot of ready) {
    for (const e of slot.errors ?? []) {
      const seen = failing.get(e.queue) ?? { workers: 0, count: 0, error: e.error };
      failing.set(e.queue, { workers: seen.workers + 1, count: seen.count + e.count, error: e.error });
    }
  }
  for (const [queue, check] of Object.entries(processorChecks(ready))) {
    if (!check.ok) reasons.push(`queue ${queue}: processor check failing: ${check.detail ?? 'check() said ok: false'}${check.hint ? ` (hint: ${check.hint})` : ''}`);
  }
  const stalled = new Set<string>();
  for (const [queue, f] of failing) {
    const every = f.workers === ready.length;
    if (every) stalled.add(queue);
    reasons.push(`queue ${queue}: ${every ? 'every' : `${f.workers} of ${ready.length}`} ready worker(s) failing in a loop (${f.count} errors): ${f.error}`);
  }
  // Every worker consumes every configured queue: when all of them are stalled, nothing is consumed.
  const expected = queues.length > 0 ? queues : [...failing.keys()];
  const nothingConsumes = ready.length === 0 || (stalled.size > 0 && expected.every((q) => stalled.has(q)));
  const quiet = ready.length === 0 && slots.some((s) => s.state === 'quiet');
  if (quiet) reasons.splice(reasons.indexOf('no worker is ready'), 1, 'quiet: taking no new jobs until shutdown');
  const status: HealthStatus = !redisOk ? 'unhealthy' : quiet ? 'quiet' : nothingConsumes ? 'unhealthy' : reasons.length > 0 ? 'degraded' : 'healthy';
  return { status, ready: redisOk && !writeRefusal && ready.length === slots.length && stalled.size === 0, reasons };
}

export interface ProcessorCheckView { ok: boolean; detail: string | null; hint: string | null; checked_at: string; workers_failing: number }

/**
 * /health's `processor`: each queue's processor check across these workers — failing when any
 * worker's last check failed (with that worker's detail), with the latest time one ran.
 */
export function processorChecks(slots: readonly SlotView[]): Record<string, ProcessorCheckView> {
  const byQueue: Record<string, ProcessorCheckView> = {};
  for (const slot of slots) {
    for (const check of slot.checks ?? []) {
      const seen = byQueue[check.queue];
      const failing = (seen?.workers_failing ?? 0) + (check.ok ? 0 : 1);
      const shown = !seen || (!check.ok && seen.ok) || (check.ok === seen.ok && check.checked_at > seen.checked_at) ? check : seen;
      const latest = seen && seen.checked_at > check.checked_at ? seen.checked_at : check.checked_at;
      byQueue[check.queue] = { ok: failing === 0, detail: shown.detail, hint: shown.hint, checked_at: latest, workers_failing: failing };
    }
  }
  return byQueue;
}

export function healthStatus(redisOk: boolean, slots: readonly SlotView[], queues: readonly string[] = []): HealthStatus {
  return assessHealth(redisOk, slots, queues).status;
}

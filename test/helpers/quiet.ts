import { expect } from 'vitest';
import type { TestFleet } from './supervisor.js';
import { waitFor } from './wait.js';

/** Quiet as the probes see it: /health says quiet (200), /readyz 503, /livez 200. */
export async function expectQuietProbes(fleet: TestFleet): Promise<void> {
  const health = await waitFor(async () => {
    const h = await fleet.health();
    return h.body.status === 'quiet' && h;
  }, '/health to say quiet');
  expect(health.status).toBe(200);
  expect(health.body.workers.every((w: { state: string }) => w.state === 'quiet')).toBe(true);
  expect((await fleet.health('/readyz')).status).toBe(503);
  expect((await fleet.health('/livez')).status).toBe(200);
}

/**
 * A job added while quiet is still waiting once the running one (held on `gate` until now, so
 * it is surely still running when the new one arrives) finished: with an idle worker beside it,
 * a supervisor that still fetched would have taken it within milliseconds. A quiet worker's
 * fetch that was already blocking when it went quiet can still take the job, and hands it back
 * at once (priority-cascade.ts): `active` for those milliseconds, so the state is read once
 * settled. A worker that ran it would leave it `completed` and in the started records.
 */
export async function expectNothingNewTaken(fleet: TestFleet, runningId: string, gate: string): Promise<void> {
  const later = await fleet.queue.add('later', { ms: 0 });
  expect((await fleet.finished()).map((r) => r.id)).toEqual([]);
  await fleet.open(gate);
  await waitFor(async () => (await fleet.finished()).some((r) => r.id === runningId), 'the running job to finish', 30_000);
  await waitFor(async () => (await fleet.queue.getJobState(runningId)) === 'completed', 'its completion committed');
  const settled = await waitFor(async () => {
    const state = await later.getState();
    return state !== 'active' && state;
  }, 'the later job out of active');
  expect(settled).toBe('waiting');
  expect((await fleet.started()).map((r) => r.id)).toEqual([runningId]);
}

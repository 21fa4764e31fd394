import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents } from '../src/fleet/events.js';
import { readSnapshots } from '../src/fleet/snapshot.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const JOBS = 40;

describe('WORKER_COUNT=MIN-MAX: a real supervisor autoscales', () => {
  it('grows to max under a burst, shrinks back to min when idle, 0 jobs lost, each run once', async () => {
    // Short windows through the documented settings, not fake timers.
    await withFleet(redis, { WORKER_COUNT: '2-8', WORKER_CONCURRENCY: '1', AUTOSCALE_INTERVAL_SECONDS: '0.2', AUTOSCALE_QUIET_SECONDS: '1' }, async (fleet) => {
      await allReady(fleet);
      const start = (await fleet.health()).body.scaling;
      expect(start).toMatchObject({ mode: 'range', current: 2, min: 2, max: 8 });
      // Every job holds its worker until the gate opens: the burst keeps every slot busy, so
      // the supervisor sees busy slots and a backlog for as long as the test needs.
      await fleet.queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'burst', data: { gate: 'go', i } })));
      let most = 0;
      const grown = await waitFor(async () => {
        const { body } = await fleet.health();
        most = Math.max(most, body.scaling.current, body.workers.length);
        const busy = body.workers.filter((w: { state: string; jobs_active: number }) => w.state === 'ready' && w.jobs_active === 1).length;
        return busy === 8 && body;
      }, '8 busy workers', 60_000);
      expect(grown.scaling).toMatchObject({ current: 8, target: 8, min: 2, max: 8 });
      // The fleet page reads the same numbers from the supervisor's snapshot.
      await waitFor(async () => (await readSnapshots(redis.client, fleet.prefix)).find((s) => s.host === fleet.hostname)?.scaling?.current === 8, 'the snapshot showing 8 workers');
      expect((await readSnapshots(redis.client, fleet.prefix)).find((s) => s.host === fleet.hostname)?.scaling).toEqual({ mode: 'range', current: 8, min: 2, max: 8, target: 8 });
      await fleet.open('go');
      await waitFor(async () => (await fleet.finished()).length >= JOBS, `${JOBS} jobs finished`, 60_000);
      const shrunk = await waitFor(async () => {
        const { body } = await fleet.health();
        most = Math.max(most, body.scaling.current, body.workers.length);
        return body.workers.length === 2 && body.scaling.current === 2 && body;
      }, 'back to 2 workers', 60_000);
      expect(shrunk.scaling).toMatchObject({ target: 2, min: 2, max: 8 });
      expect(most).toBe(8); // never above max
      const started = (await fleet.started()).map((r) => r.id);
      const finished = (await fleet.finished()).map((r) => r.id);
      expect(new Set(finished).size).toBe(JOBS);
      expect(started.length).toBe(JOBS); // none ran twice (a drained worker's job is not re-run)
      expect((await fleet.queue.getJobCounts('completed')).completed).toBe(JOBS);
      const events = await readEvents(redis.client, fleet.prefix, 100);
      const scaled = events.filter((e) => e.kind === 'resize').map((e) => e.message);
      expect(scaled).toContainEqual(expect.stringMatching(/^autoscaled 2 → 8 worker\(s\): all 2 slots busy and \d+ job\(s\) waiting: \+6 worker\(s\)$/));
      expect(scaled.filter((m) => /^autoscaled \d → \d worker\(s\): .* -1 worker$/.test(m))).toHaveLength(6);
    });
  }, 180_000);
});

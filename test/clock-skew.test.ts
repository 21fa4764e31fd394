import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, startFleet, type TestFleet } from './helpers/supervisor.js';
import { sleep, waitFor } from './helpers/wait.js';

/** Debian's libfaketime: a process started with it preloaded sees the clock shifted by FAKETIME. */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
});

/**
 * Issue 23 item 1: heartbeats and presence were written with the writer's Date.now() and judged
 * against the reader's. A supervisor whose clock ran 30 s ahead saw its live peer as dead — at
 * its start-up clean-up and in its dead-peer sweep — and handed the peer's running jobs back:
 * they ran twice at the same time. Every age is now judged on Redis's clock.
 */
describe('clock skew', () => {
  it('a supervisor 30 s ahead leaves a live peer\'s running jobs alone, and its /health says its clock is off', async () => {
    expect(existsSync(LIBFAKETIME), `${LIBFAKETIME} (apt-get install libfaketime)`).toBe(true);
    const shared = { HEARTBEAT_SECONDS: '1', WORKER_COUNT: '1', WORKER_CONCURRENCY: '3', SHUTDOWN_TIMEOUT_SECONDS: '2' };
    const fleets: TestFleet[] = [];
    try {
      const honest = await startFleet(redis, shared);
      fleets.push(honest);
      await allReady(honest);
      const jobs = await Promise.all([1, 2, 3].map(() => honest.queue.add('held', { gate: 'go' })));
      await waitFor(async () => (await honest.started()).length === 3, 'the honest supervisor to run 3 jobs');

      const { QUEUE_NAME, BOUY_PREFIX, TEST_RECORD_PREFIX } = honest.env;
      const ahead = await startFleet(redis, { ...shared, QUEUE_NAME, BOUY_PREFIX, TEST_RECORD_PREFIX, LD_PRELOAD: LIBFAKETIME, FAKETIME: '+30s' });
      fleets.push(ahead);
      await allReady(ahead);
      // Its start-up clean-up is done; its dead-peer sweep looks every 500 ms once its own writes
      // have gone through for a stale period (3 s): three stale periods give it every chance.
      await sleep(9000);
      const started = await honest.started();
      const runs = new Map<string, number>();
      for (const r of started) runs.set(r.id, (runs.get(r.id) ?? 0) + 1);
      expect(Object.fromEntries(runs), 'each job started once: none handed back while it ran').toEqual(Object.fromEntries(jobs.map((j) => [j.id!, 1])));
      expect(ahead.run.lines.filter((l) => /returned \d+ job\(s\)|removed \d+ registration\(s\) of dead peers/.test(String(l.msg))).map((l) => l.msg)).toEqual([]);
      const health = await waitFor(async () => {
        const { body } = await ahead.health();
        return body.clock?.warning ? body : undefined;
      }, 'the skewed supervisor\'s /health to warn about its clock', 5000);
      expect(health.clock.warning).toMatch(/clock is 3\d\.\d s ahead of Redis's/);
      expect(Math.abs(health.clock.offset_ms + 30_000)).toBeLessThan(2000);
      expect(ahead.run.lines.some((l) => /clock is 3\d\.\d s ahead of Redis's/.test(String(l.msg)))).toBe(true);
      const { body: honestHealth } = await honest.health();
      expect(honestHealth.clock.warning).toBeNull();

      await honest.open('go');
      await completedJobs(honest, 3);
      expect((await honest.started()).length).toBe(3);
    } finally {
      await Promise.all(fleets.map((fleet) => fleet.close()));
    }
  });
});

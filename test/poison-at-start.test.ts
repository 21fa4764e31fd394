import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers/processes.js';
import { pollUntil } from './helpers/wait.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, withFleet } from './helpers/supervisor.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

/**
 * Issue 23 item 11: a job that hangs its worker every time (one worker, WORKER_HANG_TIMEOUT 2 s,
 * RESTART_DELAY 0) had run twice and was not failed 60 s later. The replacement worker fetched
 * the waiting poison job while it still awaited its first heartbeat, before saying it was
 * ready: hung as 'starting', it was never killed. Each replacement that starts with a poison
 * job waiting is one chance of that race (won by the fetch only now and then: the heartbeat is
 * one round trip, the fetch one or two), so several poison jobs give it many.
 */
describe('poison jobs waiting when a replacement worker starts', () => {
  it('are each failed after MAX_JOB_KILLS + 1 runs: no replacement hangs unwatched', async () => {
    await withFleet(redis, {
      WORKER_COUNT: '1', PROCESSOR: `${FIXTURES}/poison-processor.mjs`, WORKER_HANG_TIMEOUT_SECONDS: '2',
      RESTART_DELAY_SECONDS: '0', MIN_UPTIME_SECONDS: '0', MAX_JOB_KILLS: '2', SHUTDOWN_TIMEOUT_SECONDS: '1',
    }, async (fleet) => {
      await allReady(fleet);
      const jobs = await fleet.queue.addBulk(Array.from({ length: 4 }, (_, i) => ({ name: 'poison', data: { poison: true, i } })));
      // 12 hangs of ~2-3 s each (hang timeout and its tick, a restart): well inside the bound.
      const failed = await pollUntil(async () => (await fleet.queue.getJobCounts('failed')).failed ?? 0, (n) => n === jobs.length, 120_000, 500);
      const states = await Promise.all(jobs.map((j) => fleet.queue.getJobState(j.id!)));
      expect(failed, `poison jobs failed after 120 s (states: ${states.join(', ')})`).toBe(jobs.length);
    });
  }, 200_000);
});

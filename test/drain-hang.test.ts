import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KILLS_FIELD } from '../src/registry/kill-count.js';
import { FIXTURES } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, withFleet } from './helpers/supervisor.js';
import { sleep, waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

/**
 * Chaos seed 99609 (issue 23 item 11): a worker hung by its job while its supervisor drained was
 * not watched — the hang watchdog looked at ready and quiet workers only — so its jobs stayed
 * active with no live worker until the drain deadline and the abort grace had passed.
 */
describe('a worker hung by its job during a drain', () => {
  it('is killed by the hang watchdog, not left until the drain deadline; its job goes back counted as a kill', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', PROCESSOR: `${FIXTURES}/poison-processor.mjs`, WORKER_HANG_TIMEOUT_SECONDS: '2', SHUTDOWN_TIMEOUT_SECONDS: '120' }, async (fleet) => {
      await allReady(fleet);
      const job = await fleet.queue.add('poison', { poison: true });
      await waitFor(async () => (await redis.client.llen(`${fleet.recordPrefix}:poisoned`)) === 1, 'the worker to hang in the job');
      fleet.run.kill('SIGTERM');
      // The hang timeout (2 s) and its tick, with a wide margin: far inside the 120 s drain.
      const exit = await Promise.race([fleet.run.exited, sleep(20_000).then(() => undefined)]);
      expect(exit, 'supervisor still draining its hung worker 20 s after SIGTERM').toEqual({ code: 0, signal: null });
      expect(fleet.run.lines.some((l) => /^worker unresponsive for over 2s/.test(String(l.msg)))).toBe(true);
      expect(await (await fleet.queue.getJob(job.id!))!.getState()).toBe('waiting');
      expect(await redis.client.hget(`bull:${fleet.queueName}:${job.id}`, KILLS_FIELD)).toBe('1');
    });
  });
});

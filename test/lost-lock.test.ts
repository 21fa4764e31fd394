import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { FIXTURES } from './helpers/processes.js';
import { allReady, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

describe('a job whose lock was lost', () => {
  it('stops counting as running once its processor returned, though BullMQ never records its outcome', async () => {
    // A timeout too: a job left on the running list would keep its deadline, and the
    // supervisor kills a worker whose job is past deadline and grace (it takes it for blocked).
    await withFleet(redis, { PROCESSOR: `${FIXTURES}/lose-lock-processor.mjs`, WORKER_COUNT: '1', JOB_TIMEOUT_SECONDS: '1', JOB_TIMEOUT_GRACE_SECONDS: '0.5' }, async (fleet) => {
      await allReady(fleet);
      const pid = (await fleet.health()).body.workers[0].pid as number;
      const job = await fleet.queue.add('lost', {});
      await waitFor(async () => (await fleet.started()).some((r) => r.id === job.id), 'the job to start');
      await fleet.run.waitForLog((l) => /Missing lock/i.test(JSON.stringify(l)), 'BullMQ to fail to record it');
      // Well past the deadline and its grace, and several reports later.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const [worker] = (await fleet.health()).body.workers;
      expect(worker).toMatchObject({ pid, restarts: 0, jobs_active: 0 });
      expect(worker.jobs.completed).toBe(0); // no outcome is invented for it
    });
  });
});

import { FlowProducer } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

type Counters = { started: number; completed: number; failed: number; moved: number; active: number };

describe("BullMQ's control-flow errors (the job moved, it did not end)", () => {
  it('step jobs, moveToWait, a FlowProducer parent waiting for children and a 429: counted as moved, never as failed or active, not logged as failures', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', WORKER_CONCURRENCY: '4', PROCESSOR: `${FIXTURES}/control-flow-processor.mjs` }, async (fleet) => {
      await allReady(fleet);
      await fleet.queue.add('step', {});
      await fleet.queue.add('wait', {});
      await fleet.queue.add('limited', {});
      const flows = new FlowProducer({ connection: redis.client, prefix: 'bull' });
      try {
        await flows.add({
          name: 'parent', queueName: fleet.queueName, data: {},
          children: [{ name: 'child', queueName: fleet.queueName, data: {} }, { name: 'child', queueName: fleet.queueName, data: {} }],
        });
      } finally {
        await flows.close();
      }
      // step, wait, limited, the parent and its three children (two from the flow, one it added).
      await completedJobs(fleet, 7);
      const body = await waitFor(async () => {
        const { body } = await fleet.health();
        const counted = Object.values(body.jobs_by_name as Record<string, Counters>).reduce((sum, c) => sum + c.completed, 0);
        // Both views: /health reads its workers before jobs_by_name, a report may land between.
        return counted === 7 && body.workers[0].jobs_completed === 7 && body;
      }, 'seven completions in /health');
      const byName = body.jobs_by_name as Record<string, Counters>;
      const counts = (name: string) => {
        const { started, completed, failed, moved, active } = byName[name]!;
        return { started, completed, failed, moved, active };
      };
      expect(counts('step')).toEqual({ started: 3, completed: 1, failed: 0, moved: 2, active: 0 });
      expect(counts('wait')).toEqual({ started: 2, completed: 1, failed: 0, moved: 1, active: 0 });
      expect(counts('limited')).toEqual({ started: 2, completed: 1, failed: 0, moved: 1, active: 0 });
      expect(counts('parent')).toEqual({ started: 2, completed: 1, failed: 0, moved: 1, active: 0 });
      expect(counts('child')).toEqual({ started: 2, completed: 2, failed: 0, moved: 0, active: 0 });
      expect(counts('late-child')).toEqual({ started: 1, completed: 1, failed: 0, moved: 0, active: 0 });
      const [worker] = body.workers;
      expect(worker).toMatchObject({ jobs_completed: 7, jobs_failed: 0, jobs_active: 0 });
      expect(worker.jobs).toMatchObject({ started: 12, completed: 7, failed: 0, moved: 5, active: 0 });
      expect((await fleet.queue.getJobCounts('failed')).failed).toBe(0);
      // A move is not a failure: nothing at warn or above says one failed.
      expect(fleet.run.lines.filter((l) => (l.level as number) >= 40 && /fail/i.test(String(l.msg)))).toEqual([]);
    });
  });
});

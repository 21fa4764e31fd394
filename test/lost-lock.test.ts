import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { FIXTURES } from './helpers/processes.js';
import { allReady, completedJobs, startFleet, withFleet } from './helpers/supervisor.js';
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

describe('a job whose lock lapses while Redis is paused', () => {
  it('is told: its AbortSignal fires with reason "lock lost" before Redis answers again; a healthy Redis renews a short lock', async () => {
    // The records live on a Redis of their own: the fleet's is paused (SIGSTOP: no answer, no reset).
    const records = await startRedis();
    const fleet = await startFleet(redis, { PROCESSOR: `${FIXTURES}/timeout-processor.mjs`, WORKER_COUNT: '1', JOB_LOCK_SECONDS: '2' }, { records });
    const aborted = async () => (await records.client.lrange(`${fleet.recordPrefix}:aborted`, 0, -1)).map((s) => JSON.parse(s) as { id: string; reason: string });
    try {
      await allReady(fleet);
      expect((await fleet.health()).body.limits.job_lock_s).toBe(2);
      // Three lock durations with Redis answering: renewed, never aborted.
      const steady = await fleet.queue.add('steady', { ms: 6000 });
      await completedJobs(fleet, 1);
      expect((await fleet.finished()).map((r) => r.id)).toEqual([steady.id]);

      const job = await fleet.queue.add('long', { mode: 'honour' });
      await waitFor(async () => (await fleet.started()).some((r) => r.id === job.id), 'the job to start');
      redis.signal('SIGSTOP');
      try {
        const [abort] = await waitFor(async () => { const list = await aborted(); return list.length > 0 && list; }, 'the job told its lock is lost', 15_000);
        expect(abort).toEqual({ id: job.id, reason: 'lock lost', at: expect.any(Number) });
      } finally {
        redis.signal('SIGCONT');
      }
      expect(fleet.run.lines.some((l) => l.msg?.toString().startsWith('job lock lost: not renewed for 2 s') && l.jobId === job.id)).toBe(true);
      expect((await aborted()).map((a) => a.id)).toEqual([job.id]);
    } finally {
      await fleet.close();
      await records.close();
    }
  });
});

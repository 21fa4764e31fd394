import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, withFleet, type TestFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const TIMEOUTS = { PROCESSOR: `${FIXTURES}/timeout-processor.mjs`, JOB_TIMEOUT_SECONDS: '2', JOB_TIMEOUT_GRACE_SECONDS: '1', RESTART_DELAY_SECONDS: '30' };

async function failedJob(fleet: TestFleet, id: string) {
  await waitFor(async () => (await fleet.queue.getJobState(id)) === 'failed', `job ${id} failed`, 30_000);
  return (await fleet.queue.getJob(id))!;
}

const recyclesOf = async (fleet: TestFleet) => (await fleet.health()).body.workers.map((w: { recycles: Record<string, number> }) => w.recycles['job-timeout'] ?? 0);

describe('JOB_TIMEOUT_SECONDS', () => {
  it('fails a job that awaits for ever "timed out after 2 s" within ~3 s, following its attempts, and recycles the worker that ignored the signal', async () => {
    await withFleet(redis, { ...TIMEOUTS, WORKER_COUNT: '1' }, async (fleet) => {
      await allReady(fleet);
      const job = await fleet.queue.add('forever', { mode: 'forever' }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
      const failed = await failedJob(fleet, job.id!);
      expect(failed.failedReason).toBe('timed out after 2 s');
      expect(failed.attemptsMade).toBe(2);
      // The last attempt: failed at its deadline, not at some later sweep.
      const took = failed.finishedOn! - failed.processedOn!;
      expect(took).toBeGreaterThanOrEqual(1900);
      expect(took).toBeLessThan(3000);
      // Ignoring the signal past the grace: the worker is recycled (not a crash, not a kill).
      await waitFor(async () => (await recyclesOf(fleet))[0] >= 1, 'a job-timeout recycle');
      const { body } = await fleet.health();
      expect(body.workers[0].restarts).toBe(0);
      // The replacement takes jobs as before.
      const after = await fleet.queue.add('after', { ms: 1 });
      await waitFor(async () => (await fleet.queue.getJobState(after.id!)) === 'completed', 'a job after the recycle');
    });
  });

  it('fires the AbortSignal: a processor that honours it fails the job once, with no recycle; a per-job opts.timeout wins', async () => {
    await withFleet(redis, { ...TIMEOUTS, WORKER_COUNT: '1', WORKER_CONCURRENCY: '2' }, async (fleet) => {
      await allReady(fleet);
      const own = await fleet.queue.add('honour-own', { mode: 'honour' }, { timeout: 500 } as never);
      const fleetWide = await fleet.queue.add('honour', { mode: 'honour' });
      expect((await failedJob(fleet, own.id!)).failedReason).toBe('timed out after 0.5 s');
      expect((await failedJob(fleet, fleetWide.id!)).failedReason).toBe('timed out after 2 s');
      const aborted = (await redis.client.lrange(`${fleet.recordPrefix}:aborted`, 0, -1)).map((s) => JSON.parse(s) as { id: string; reason: string });
      expect(aborted.map((a) => a.id).sort()).toEqual([own.id, fleetWide.id].sort());
      expect(aborted.find((a) => a.id === own.id)!.reason).toBe('timed out after 0.5 s');
      // Past the grace period the worker is still the first one.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await recyclesOf(fleet)).toEqual([0]);
    });
  });

  it('kills a worker blocked past timeout and grace as a recycle: its job fails once as timed out, other jobs complete', async () => {
    await withFleet(redis, { ...TIMEOUTS, WORKER_COUNT: '2', MAX_JOB_KILLS: '0' }, async (fleet) => {
      await allReady(fleet);
      const blocked = await fleet.queue.add('block', { mode: 'block' });
      const others = await fleet.queue.addBulk(Array.from({ length: 10 }, (_, i) => ({ name: `ok-${i}`, data: { ms: 100 } })));
      const failed = await failedJob(fleet, blocked.id!);
      // MAX_JOB_KILLS=0 would fail a killed job as poison: a timeout is not counted as a kill.
      expect(failed.failedReason).toBe('timed out after 2 s');
      expect(failed.attemptsMade).toBe(1);
      await completedJobs(fleet, others.length);
      const starts = (await fleet.started()).filter((r) => r.id === blocked.id);
      expect(starts).toHaveLength(1);
      await waitFor(async () => (await recyclesOf(fleet)).reduce((a: number, b: number) => a + b, 0) === 1, 'one job-timeout recycle');
      await waitFor(async () => (await fleet.health()).body.workers.every((w: { state: string }) => w.state === 'ready'), 'both slots ready again');
      const { body } = await fleet.health();
      expect(body.workers.map((w: { restarts: number }) => w.restarts)).toEqual([0, 0]);
      expect(fleet.run.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('worker blocked past a job\'s timeout'))).toBe(true);
      expect(await fleet.queue.getJobCounts('completed', 'failed')).toEqual({ completed: 10, failed: 1 });
    });
  });
});

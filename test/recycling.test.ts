import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, type TestFleet, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

/** Resident memory of a process in MiB, from /proc (what the supervisor reads too). */
function residentMb(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return kb / 1024;
}

/** Every job ran exactly once and completed: none lost, none run twice. */
async function expectEachRanOnce(fleet: TestFleet, ids: string[]) {
  await completedJobs(fleet, ids.length, 60_000);
  const started = (await fleet.started()).map((r) => r.id).sort();
  expect(started).toEqual([...ids].sort());
  const counts = await fleet.queue.getJobCounts('completed', 'failed', 'active', 'wait');
  expect(counts).toEqual({ completed: ids.length, failed: 0, active: 0, wait: 0 });
}

describe('task-aware recycling', () => {
  it('recycles a worker after MAX_JOBS_PER_WORKER jobs with jobs in flight, losing and repeating none', async () => {
    await withFleet(redis, { WORKER_COUNT: '2', WORKER_CONCURRENCY: '2', MAX_JOBS_PER_WORKER: '5', MAX_JOBS_JITTER: '2', RESTART_DELAY_SECONDS: '30' }, async (fleet) => {
      await allReady(fleet);
      const jobs = await fleet.queue.addBulk(Array.from({ length: 40 }, (_, i) => ({ name: i % 2 ? 'odd' : 'even', data: { ms: 30 } })));
      await expectEachRanOnce(fleet, jobs.map((j) => j.id!));
      const recycledLines = () => fleet.run.lines.filter((l) => l.msg === 'worker recycled; starting its replacement now');
      // A recycle is not a crash: no restart delay (30 s here) was waited, nothing counted as a
      // restart. A worker may recycle right after the last job, so settle before comparing.
      const { body } = await waitFor(async () => {
        const h = await fleet.health();
        const counted = (h.body.jobs_by_name.odd?.completed ?? 0) + (h.body.jobs_by_name.even?.completed ?? 0) === 40;
        const recycled = h.body.workers.reduce((sum: number, w: { recycles: { 'max-jobs'?: number } }) => sum + (w.recycles['max-jobs'] ?? 0), 0);
        const settled = recycled === recycledLines().length;
        return counted && settled && h.body.workers.every((w: { state: string }) => w.state === 'ready') && h;
      }, 'all slots ready again, every job and recycle counted');
      const recycles = recycledLines();
      expect(recycles.length).toBeGreaterThanOrEqual(4);
      expect(recycles.every((l) => l.reason === 'max-jobs')).toBe(true);
      expect(body.workers.map((w: { restarts: number }) => w.restarts)).toEqual([0, 0]);
      expect(body.jobs_by_name.odd).toMatchObject({ started: 20, completed: 20, failed: 0, active: 0 });
      expect(body.jobs_by_name.even.mean_ms).toBeGreaterThanOrEqual(25);
    });
  });

  it('recycles a worker past MAX_MEMORY_MB once its active jobs finish', async () => {
    // The limit is a fresh worker's measured memory plus room for two 25 MB leaks, not a fixed
    // figure: a fresh worker's RSS differs with the Node version (75 MB on Node 20) and machine.
    const freshMb = await withFleet(redis, { WORKER_COUNT: '1', PROCESSOR: `${FIXTURES}/leaky-processor.mjs` }, async (fleet) => {
      await allReady(fleet);
      return residentMb((await fleet.health()).body.workers[0].pid);
    });
    const limitMb = Math.ceil(freshMb) + 60;
    await withFleet(redis, {
      WORKER_COUNT: '1', WORKER_CONCURRENCY: '2', MAX_MEMORY_MB: String(limitMb), PROCESSOR: `${FIXTURES}/leaky-processor.mjs`,
    }, async (fleet) => {
      await allReady(fleet);
      const jobs = await fleet.queue.addBulk(Array.from({ length: 8 }, () => ({ name: 'leak', data: { ms: 200, leakMb: 25 } })));
      await expectEachRanOnce(fleet, jobs.map((j) => j.id!));
      const recycle = await fleet.run.waitForLog((l) => l.msg === 'worker recycled; starting its replacement now', 'a recycle');
      expect(recycle.reason).toBe('max-memory');
      const request = fleet.run.lines.find((l) => l.msg === 'recycle limit reached')!;
      expect(request.rss_mb as number).toBeGreaterThan(limitMb);
    });
  });

  it('refuses a memory recycle that would loop and keeps the worker working', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', MAX_MEMORY_MB: '10' }, async (fleet) => {
      await allReady(fleet);
      const refused = await fleet.run.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('recycle refused'), 'refusal');
      expect(refused.msg).toContain('recycling would loop; raise MAX_MEMORY_MB');
      const job = await fleet.queue.add('after', { ms: 1 });
      await waitFor(async () => (await fleet.finished()).some((r) => r.id === job.id), 'job processed anyway');
      const { body } = await fleet.health();
      expect(body.workers[0].recycle_refused).toContain('over MAX_MEMORY_MB=10');
      expect(fleet.run.lines.filter((l) => l.msg === 'worker recycled; starting its replacement now')).toEqual([]);
    });
  });
});

describe('start-up verification', () => {
  it('says all workers are configured identically', async () => {
    await withFleet(redis, { WORKER_COUNT: '3' }, async (fleet) => {
      const banner = await fleet.run.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('WORKER VERIFICATION'), 'banner');
      expect(banner.msg).toContain('3 workers ready, all configured identically');
      expect(banner.identical).toBe(true);
      // The banner is printed once: its text, not again as fields (pretty logs printed both).
      expect(banner).not.toHaveProperty('shared');
      // Start-up blocks: each worker's lines are contiguous and end with "Workers ready: k/3".
      const lines = fleet.run.lines;
      const readyIdx = lines.map((l, i) => (typeof l.msg === 'string' && l.msg.startsWith('Workers ready:') ? i : -1)).filter((i) => i >= 0);
      expect(readyIdx.map((i) => lines[i]!.msg)).toEqual(['Workers ready: 1/3', 'Workers ready: 2/3', 'Workers ready: 3/3']);
      for (const i of readyIdx) {
        const name = lines[i]!.worker;
        const start = lines.findIndex((l) => l.msg === 'worker process started' && l.worker === name);
        const block = lines.slice(start, i + 1);
        expect(block.every((l) => l.worker === name)).toBe(true);
        expect(block.map((l) => l.msg)).toContain('worker ready');
      }
    });
  });

  it('lists each mismatch as expected vs got', async () => {
    await withFleet(redis, { WORKER_COUNT: '3', PROCESSOR: `${FIXTURES}/mismatched-processor.mjs` }, async (fleet) => {
      const banner = await fleet.run.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('WORKER VERIFICATION'), 'banner');
      expect(banner.level).toBe(40);
      expect(banner.msg).toContain(`worker-${fleet.hostname}-2: processor:${fleet.queueName} expected {"model":"model-new","pool_size":20} got {"model":"model-old","pool_size":20}`);
      expect(banner).not.toHaveProperty('mismatches');
      // The structured form is /health's.
      const { body } = await fleet.health();
      expect(body.verification.identical).toBe(false);
      expect(body.verification.mismatches).toHaveLength(1);
    });
  });
});

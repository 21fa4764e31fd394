import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers/processes.js';
import { parsePrometheus } from './helpers/prometheus.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';
import { clip } from '../src/jobs/job-names.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

describe('job names chosen by clients', () => {
  it('keep /metrics and /health bounded: the first JOB_NAME_LIMIT names, the rest as other', async () => {
    const limit = 20;
    await withFleet(redis, {
      WORKER_COUNT: '2', WORKER_CONCURRENCY: '50', JOB_NAME_LIMIT: String(limit), LOG_LEVEL: 'warn',
      PROCESSOR: `${FIXTURES}/noop-processor.mjs`,
    }, async (fleet) => {
      await waitFor(async () => (await fleet.health('/readyz')).status === 200, 'ready');
      const names = Array.from({ length: 3000 }, (_, i) => `name-${i}`);
      for (let i = 0; i < names.length; i += 500) {
        await fleet.queue.addBulk(names.slice(i, i + 500).map((name) => ({ name, data: {}, opts: { removeOnComplete: true } })));
      }
      await waitFor(async () => {
        const { body } = await fleet.health();
        return body.workers.reduce((sum: number, w: { jobs_completed: number }) => sum + w.jobs_completed, 0) === 3000;
      }, '3000 jobs counted', 60_000);

      const metrics = await (await fetch(`http://127.0.0.1:${fleet.healthPort}/metrics`)).text();
      const health = await (await fetch(`http://127.0.0.1:${fleet.healthPort}/health`)).text();
      console.log(`3000 names: /metrics ${metrics.length} bytes, /health ${health.length} bytes`);
      const { samples } = parsePrometheus(metrics);
      const jobs = samples.filter((s) => s.name === 'bouy_jobs_total');
      const labels = new Set(jobs.map((s) => s.labels.name));
      expect(labels.size).toBeLessThanOrEqual(limit + 1);
      expect(labels).toContain('other');
      expect(jobs.reduce((sum, s) => sum + s.value, 0)).toBe(3000);
      const durationNames = new Set(samples.filter((s) => s.name.startsWith('bouy_job_duration_seconds')).map((s) => s.labels.name));
      expect(durationNames.size).toBeLessThanOrEqual(limit + 1);
      expect(metrics.length).toBeLessThan(100_000);

      const body = JSON.parse(health) as { jobs_by_name: Record<string, { completed: number }> };
      expect(Object.keys(body.jobs_by_name).length).toBeLessThanOrEqual(limit + 1);
      expect(body.jobs_by_name.other?.completed).toBe(3000 - limit);
      expect(health.length).toBeLessThan(30_000);
    });
  });
});

describe('a job name of 1 MB', () => {
  it('is cut to the same 120 characters in /health jobs_by_name and /metrics, as on the fleet page', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', PROCESSOR: `${FIXTURES}/noop-processor.mjs` }, async (fleet) => {
      await waitFor(async () => (await fleet.health('/readyz')).status === 200, 'ready');
      const huge = 'n'.repeat(1024 * 1024);
      await fleet.queue.add(huge, {}, { removeOnComplete: true });
      await fleet.queue.add('short', {}, { removeOnComplete: true });
      const body = await waitFor(async () => {
        const { body } = await fleet.health();
        return body.workers[0].jobs_completed === 2 && Object.keys(body.jobs_by_name).length === 2 && body;
      }, 'both jobs counted');
      const cut = clip(huge);
      expect(cut.length).toBe(120);
      expect(Object.keys(body.jobs_by_name).sort()).toEqual([cut, 'short'].sort());
      expect(body.jobs_by_name[cut]).toMatchObject({ started: 1, completed: 1, active: 0 });
      const health = await (await fetch(`http://127.0.0.1:${fleet.healthPort}/health`)).text();
      expect(health.length).toBeLessThan(30_000);
      const { samples } = parsePrometheus(await (await fetch(`http://127.0.0.1:${fleet.healthPort}/metrics`)).text());
      const names = new Set(samples.filter((s) => s.name === 'bouy_jobs_total').map((s) => s.labels.name));
      expect(names).toEqual(new Set([cut, 'short']));
    });
  });
});

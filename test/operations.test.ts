import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheus, sampleValue } from './helpers/prometheus.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, type TestFleet, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const TOKEN = 'test-admin-token-0123456789';

async function admin(fleet: TestFleet, path: string, body: unknown, token: string | null = TOKEN) {
  const response = await fetch(`http://127.0.0.1:${fleet.healthPort}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function readyWorkers(fleet: TestFleet, count: number) {
  return waitFor(async () => {
    const { body } = await fleet.health();
    return body.workers.length === count && body.workers.every((w: { state: string }) => w.state === 'ready') && body;
  }, `${count} ready workers`);
}

describe('/metrics', () => {
  it('serves Prometheus text with jobs, durations, queue depth, workers and heartbeat age', async () => {
    await withFleet(redis, { WORKER_COUNT: '2' }, async (fleet) => {
      await allReady(fleet);
      await fleet.queue.addBulk(Array.from({ length: 6 }, () => ({ name: 'metered', data: { ms: 20 } })));
      await fleet.queue.add('later', { ms: 1 }, { delay: 60_000 });
      const q = fleet.queueName;
      let contentType: string | null = null;
      const scrape = async () => {
        const response = await fetch(`http://127.0.0.1:${fleet.healthPort}/metrics`);
        contentType = response.headers.get('content-type');
        return parsePrometheus(await response.text());
      };
      // Alone in its fleet, this supervisor becomes the leader: bouy_leader must say 1.
      await waitFor(async () => (await fleet.health()).body.leader === true, 'leadership');
      // Job reports reach the supervisor over IPC: scrape until all six are in.
      const { samples, types } = await waitFor(async () => {
        const parsed = await scrape();
        return sampleValue(parsed.samples, 'bouy_jobs_total', { queue: q, name: 'metered', outcome: 'completed' }) === 6 && parsed;
      }, 'six completed jobs in /metrics');
      // Asserted out here: waitFor would have caught a failed expect inside scrape().
      expect(contentType).toContain('text/plain');
      expect(types.get('bouy_job_duration_seconds')).toBe('histogram');
      expect(sampleValue(samples, 'bouy_job_duration_seconds_count', { queue: q, name: 'metered' })).toBe(6);
      expect(sampleValue(samples, 'bouy_job_duration_seconds_bucket', { queue: q, name: 'metered', le: '0.005' })).toBe(0);
      expect(sampleValue(samples, 'bouy_queue_jobs', { queue: q, state: 'delayed' })).toBe(1);
      expect(sampleValue(samples, 'bouy_jobs_active', { queue: q })).toBe(0);
      expect(sampleValue(samples, 'bouy_workers', { state: 'ready' })).toBe(2);
      expect(sampleValue(samples, 'bouy_leader')).toBe(1);
      const age = sampleValue(samples, 'bouy_worker_heartbeat_age_seconds', { worker: `worker-${fleet.hostname}-1` });
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(30);
    });
  });
});

describe('changing the number of workers at run time', () => {
  it('adds a worker on SIGTTIN and drains one away on SIGTTOU without cutting its job', async () => {
    await withFleet(redis, { WORKER_COUNT: '2' }, async (fleet) => {
      await allReady(fleet);
      fleet.run.kill('SIGTTIN');
      const three = await readyWorkers(fleet, 3);
      expect(three.workers.map((w: { name: string }) => w.name)).toEqual([1, 2, 3].map((i) => `worker-${fleet.hostname}-${i}`));
      // Three long jobs, one per worker; removing a worker must let its job finish.
      const jobs = await fleet.queue.addBulk(Array.from({ length: 3 }, () => ({ name: 'long', data: { ms: 1500 } })));
      await waitFor(async () => (await fleet.started()).length === 3, 'three jobs running');
      fleet.run.kill('SIGTTOU');
      await fleet.run.waitForLog((l) => l.msg === 'worker removed', 'a worker removed', 20_000);
      const two = await readyWorkers(fleet, 2);
      expect(two.worker_count).toBe(2);
      await completedJobs(fleet, 3);
      expect((await fleet.started()).length).toBe(3);
      for (const job of jobs) expect(await (await fleet.queue.getJob(job.id!))!.getState()).toBe('completed');
    });
  });
});

describe('SIGHUP', () => {
  it('replaces every worker one at a time, finishing their jobs', async () => {
    await withFleet(redis, { WORKER_COUNT: '2' }, async (fleet) => {
      const before = await readyWorkers(fleet, 2);
      const jobs = await fleet.queue.addBulk(Array.from({ length: 2 }, () => ({ name: 'long', data: { ms: 800 } })));
      await waitFor(async () => (await fleet.started()).length === 2, 'both workers busy');
      fleet.run.kill('SIGHUP');
      const after = await waitFor(async () => {
        const { body } = await fleet.health();
        const replaced = body.workers.every((w: { pid: number; state: string }, i: number) => w.state === 'ready' && w.pid !== before.workers[i].pid);
        return replaced && body;
      }, 'both workers replaced');
      expect(after.workers.map((w: { recycles: unknown }) => w.recycles)).toEqual([{ manual: 1 }, { manual: 1 }]);
      await completedJobs(fleet, 2);
      expect((await fleet.started()).length).toBe(2);
      for (const job of jobs) expect(await (await fleet.queue.getJob(job.id!))!.getState()).toBe('completed');
      // Rolling: the second worker was asked to go only once the first one's replacement was ready.
      const recycling = fleet.run.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('recycling worker (manual)'));
      const firstReady = fleet.run.lines.findIndex((l, i) => i > fleet.run.lines.indexOf(recycling[0]!) && l.msg === 'Workers ready: 2/2');
      expect(fleet.run.lines.indexOf(recycling[1]!)).toBeGreaterThan(firstReady);
    });
  });
});

describe('admin routes', () => {
  it('do not exist without ADMIN_TOKEN', async () => {
    await withFleet(redis, {}, async (fleet) => {
      await allReady(fleet);
      expect((await admin(fleet, '/admin/recycle', {})).status).toBe(404);
    });
  });

  it('need the token, validate input, recycle one worker and scale', async () => {
    await withFleet(redis, { WORKER_COUNT: '2', ADMIN_TOKEN: TOKEN }, async (fleet) => {
      const before = await readyWorkers(fleet, 2);
      expect((await admin(fleet, '/admin/recycle', { worker: 1 }, 'wrong-token-wrong-token')).status).toBe(401);
      expect((await admin(fleet, '/admin/recycle', { worker: 1 }, null)).status).toBe(401);
      const bad = await admin(fleet, '/admin/scale', { workers: 99 });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toContain('workers');
      expect((await admin(fleet, '/admin/recycle', { worker: 7 })).status).toBe(404);

      const recycled = await admin(fleet, '/admin/recycle', { worker: 1 });
      expect(recycled).toEqual({ status: 202, body: { recycling: [`worker-${fleet.hostname}-1`], rolling: false } });
      const after = await waitFor(async () => {
        const body = await readyWorkers(fleet, 2);
        return body.workers[0].pid !== before.workers[0].pid && body;
      }, 'worker 1 replaced');
      expect(after.workers[1].pid).toBe(before.workers[1].pid);
      expect(after.workers[0].recycles).toEqual({ manual: 1 });

      expect(await admin(fleet, '/admin/scale', { workers: 3 })).toEqual({ status: 200, body: { workers: 3 } });
      await readyWorkers(fleet, 3);
    });
  });

  it('take exactly the types their schema says: nothing coerced, no unknown field dropped, each 400 names the field', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', ADMIN_TOKEN: TOKEN }, async (fleet) => {
      await readyWorkers(fleet, 1);
      for (const [body, says] of [
        [{ workers: true }, 'body.workers must be integer'],
        [{ workers: '2' }, 'body.workers must be integer'],
        [{ workers: [2] }, 'body.workers must be integer'],
        [{ workers: 2, extra: 1 }, 'body.extra is not a known field'],
        [{}, "must have required property 'workers'"],
        [{ workers: 0 }, 'body.workers must be >= 1'],
      ] as const) {
        const answer = await admin(fleet, '/admin/scale', body);
        expect({ body, status: answer.status }).toEqual({ body, status: 400 });
        expect(answer.body.message).toContain(says);
      }
      for (const body of [{ worker: '1' }, { worker: true }, { worker: [1] }, { worker: 'some' }]) {
        const answer = await admin(fleet, '/admin/recycle', body);
        expect({ body, status: answer.status }).toEqual({ body, status: 400 });
        expect(answer.body.message).toContain('body.worker must be an integer from 1 to 20 or "all"');
      }
      expect((await admin(fleet, '/admin/recycle', { worker: 1, all: true })).body.message).toContain('body.all is not a known field');
      // Nothing above changed the fleet.
      expect((await fleet.health()).body.worker_count).toBe(1);
      // A token of another length is refused like any wrong one (compared as digests).
      expect((await admin(fleet, '/admin/scale', { workers: 1 }, 'x')).status).toBe(401);
      expect((await admin(fleet, '/admin/scale', { workers: 1 }, `${TOKEN}-longer`)).status).toBe(401);
    });
  });

  it('recycle "all" replaces every worker one at a time; /metrics counts each recycle and restart exactly once', async () => {
    await withFleet(redis, { WORKER_COUNT: '2', ADMIN_TOKEN: TOKEN, RESTART_DELAY_SECONDS: '0.3' }, async (fleet) => {
      const before = await readyWorkers(fleet, 2);
      const scrape = async () => parsePrometheus(await (await fetch(`http://127.0.0.1:${fleet.healthPort}/metrics`)).text()).samples;
      const manual = (samples: Awaited<ReturnType<typeof scrape>>) => sampleValue(samples, 'bouy_worker_recycles_total', { reason: 'manual' }) ?? 0;
      const restarts = (samples: Awaited<ReturnType<typeof scrape>>) => samples.filter((s) => s.name === 'bouy_worker_restarts_total').reduce((sum, s) => sum + s.value, 0);
      const first = await scrape();
      expect([manual(first), restarts(first)]).toEqual([0, 0]);
      // The supervisor's own process metrics: its memory is that of one small Node process.
      const rss = sampleValue(first, 'bouy_supervisor_process_resident_memory_bytes')!;
      expect(rss).toBeGreaterThan(20 * 1024 * 1024);
      expect(rss).toBeLessThan(1024 * 1024 * 1024);
      expect(sampleValue(first, 'bouy_supervisor_process_start_time_seconds')).toBeGreaterThan(Date.now() / 1000 - 300);

      expect(await admin(fleet, '/admin/recycle', { worker: 'all' })).toEqual({
        status: 202, body: { recycling: [1, 2].map((i) => `worker-${fleet.hostname}-${i}`), rolling: true },
      });
      const after = await waitFor(async () => {
        const body = await readyWorkers(fleet, 2);
        return body.workers.every((w: { pid: number }, i: number) => w.pid !== before.workers[i].pid) && body;
      }, 'both workers replaced');
      expect(after.workers.map((w: { recycles: unknown }) => w.recycles)).toEqual([{ manual: 1 }, { manual: 1 }]);
      expect(manual(await scrape())).toBe(2);

      process.kill(after.workers[0].pid, 'SIGKILL');
      await waitFor(async () => {
        const body = await readyWorkers(fleet, 2);
        return body.workers[0].pid !== after.workers[0].pid && body;
      }, 'the killed worker back');
      const last = await scrape();
      expect(sampleValue(last, 'bouy_worker_restarts_total', { worker: `worker-${fleet.hostname}-1` })).toBe(1);
      expect(restarts(last)).toBe(1);
      expect(manual(last)).toBe(2);
    });
  });
});

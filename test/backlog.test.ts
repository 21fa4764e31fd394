import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetBacklog, QueueBacklog } from '../src/health/queue-backlog.js';
import { freePort } from './helpers/free-port.js';
import { runEntrypoint, started, stopProcess, type Running } from './helpers/processes.js';
import { parsePrometheus, sampleValue } from './helpers/prometheus.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { waitFor } from './helpers/wait.js';

// GET /backlog and bouy_queue_backlog as the scheduler serves them (it stays up while no worker
// runs, so the autoscaler can scale the workers to zero): a real scheduler process, a real
// Redis, and the project's BullMQ putting jobs in each state.

const TOKEN = 'backlog-token-0123456789';

describe('the backlog a scheduler serves (GET /backlog, bouy_queue_backlog)', () => {
  let redis: RedisServer;
  let scheduler: Running;
  let port: number;
  const id = randomUUID().slice(0, 6);
  const name = (what: string) => `bl-${id}-${what}`;
  const QUEUES = ['schedulers', 'later', 'due', 'paused', 'capped', 'rated'].map(name);
  const queues = new Map<string, Queue>();
  const queue = (what: string) => queues.get(name(what))!;

  /** GET `path` with `Authorization: Bearer <token>`; null: without one. */
  const get = async (path: string, token: string | null = TOKEN) =>
    fetch(`http://127.0.0.1:${port}${path}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
  const backlog = async (query = ''): Promise<FleetBacklog> => {
    const response = await get(`/backlog${query}`);
    expect(response.status, await response.clone().text()).toBe(200);
    return await response.json() as FleetBacklog;
  };
  const of = async (what: string, query = ''): Promise<QueueBacklog> => (await backlog(query)).queues[name(what)]!;

  beforeAll(async () => {
    redis = await startRedis();
    for (const q of QUEUES) {
      const opened = new Queue(q, { connection: redis.client });
      opened.on('error', () => {});
      queues.set(q, opened);
    }
    port = await freePort();
    scheduler = runEntrypoint(['scheduler'], {
      ...redis.env, QUEUE_NAME: QUEUES.join(','), BOUY_PREFIX: `bouy-${id}`, BOUY_HOSTNAME: `sched${id}`,
      HEALTH_HOST: '127.0.0.1', HEALTH_PORT: String(port), HEALTH_PORT_RANGE: `${port}-${port}`, BACKLOG_TOKEN: TOKEN,
    });
    // One scheduler for the whole file (afterAll stops it), not one per test: the leak guard
    // checks per test, so it is taken off its list.
    started.delete(scheduler.proc);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/livez`).catch(() => undefined))?.ok, 'the scheduler to answer');
  });
  afterAll(async () => {
    if (scheduler) await stopProcess(scheduler);
    for (const q of queues.values()) await q.close();
    await redis?.close();
  });

  it('counts two job schedulers on an idle queue as 0 (their next runs are an hour away), and all of them over a window that reaches them', async () => {
    const q = queue('schedulers');
    await q.upsertJobScheduler('hourly-a', { every: 3_600_000 }, { name: 'tick' });
    await q.upsertJobScheduler('hourly-b', { every: 3_600_000 }, { name: 'tock' });
    // An `every` scheduler runs its first job at once: a worker takes both, then the queue is idle.
    const worker = new Worker(q.name, async () => undefined, { connection: redis.client.duplicate() });
    try {
      await waitFor(async () => (await q.getJobCounts('completed')).completed === 2, 'the first runs to complete');
    } finally {
      await worker.close();
    }
    expect(await q.getJobCounts('waiting', 'delayed', 'active')).toEqual({ waiting: 0, delayed: 2, active: 0 });
    expect(await of('schedulers')).toMatchObject({ delayed_due: 0, delayed_later: 2, ready: 0, backlog: 0, slots: 0 });
  });

  it('counts 80 jobs delayed by an hour as 0, not 80 (they would hold 20 idle pods for that hour)', async () => {
    await queue('later').addBulk(Array.from({ length: 80 }, (_, i) => ({ name: 'later', data: { i }, opts: { delay: 3_600_000 } })));
    expect(await of('later')).toEqual({
      waiting: 0, prioritized: 0, delayed_due: 0, delayed_later: 80, active: 0, paused: false, ready: 0, backlog: 0,
      global_concurrency: null, rate_limit: null, rate_limit_starts: null, slots: 0,
    });
    // A window that reaches them (the query parameter) counts them all.
    const wide = await backlog('?window=3600');
    expect(wide.window_s).toBe(3600);
    expect(wide.queues[name('later')]).toMatchObject({ delayed_due: 80, delayed_later: 0, backlog: 80, slots: 80 });
  });

  it('counts a job due within the window (15 s by default), and not over a shorter window', async () => {
    await queue('due').add('soon', {}, { delay: 5_000 });
    await queue('due').add('much-later', {}, { delay: 600_000 });
    const read = await backlog();
    expect(read.window_s).toBe(15);
    expect(read.queues[name('due')]).toMatchObject({ delayed_due: 1, delayed_later: 1, ready: 1, backlog: 1, slots: 1 });
    expect(await of('due', '?window=1')).toMatchObject({ delayed_due: 0, delayed_later: 2, backlog: 0 });
    // A window in fractions of a millisecond is still a window (BullMQ wants whole ms).
    expect(await of('due', '?window=0.0005')).toMatchObject({ delayed_due: 0, delayed_later: 2 });
  });

  it('reports 0 ready for a paused queue, its waiting jobs shown, and still counts the job running', async () => {
    const q = queue('paused');
    let release!: () => void;
    const running = new Promise<void>((resolve) => { release = resolve; });
    const worker = new Worker(q.name, () => running, { connection: redis.client.duplicate(), concurrency: 1 });
    try {
      await q.add('running', {});
      await waitFor(async () => (await q.getJobCounts('active')).active === 1, 'the job to start');
      await q.pause();
      await q.addBulk([1, 2, 3].map((i) => ({ name: 'queued', data: { i } })));
      expect(await of('paused')).toMatchObject({ waiting: 3, active: 1, paused: true, ready: 0, backlog: 1, slots: 1 });
      await q.resume();
      expect(await of('paused')).toMatchObject({ waiting: 3, active: 1, paused: false, ready: 3, backlog: 4, slots: 4 });
      await q.pause(); // the worker takes nothing more while the job is let go
    } finally {
      release();
      await worker.close();
    }
  });

  it('caps the desired worker slots at QUEUE_GLOBAL_CONCURRENCY (the queue\'s meta hash), the backlog itself uncapped', async () => {
    const q = queue('capped');
    await q.setGlobalConcurrency(3);
    await q.addBulk(Array.from({ length: 10 }, (_, i) => ({ name: 'job', data: { i } })));
    const read = await backlog();
    expect(read.queues[name('capped')]).toMatchObject({ waiting: 10, ready: 10, backlog: 10, global_concurrency: 3, slots: 3 });
    // The totals sum the queues.
    const parts = Object.values(read.queues);
    expect(read.backlog).toBe(parts.reduce((sum, p) => sum + p.backlog, 0));
    expect(read.slots).toBe(parts.reduce((sum, p) => sum + p.slots, 0));
  });

  it('caps the slots at the starts QUEUE_RATE_LIMIT allows before the next poll', async () => {
    const q = queue('rated');
    await q.setGlobalRateLimit(5, 60_000);
    await q.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: 'job', data: { i } })));
    // A 15 s window touches at most 2 one-minute limiter windows: 10 starts.
    expect(await of('rated')).toMatchObject({ ready: 30, backlog: 30, rate_limit: { max: 5, duration_ms: 60_000 }, rate_limit_starts: 10, slots: 10 });
    // Over 3 minutes, 4 windows: 20.
    expect(await of('rated', '?window=180')).toMatchObject({ rate_limit_starts: 20, slots: 20 });
  });

  it('serves the same numbers in /metrics (bouy_queue_backlog, bouy_queue_desired_slots)', async () => {
    const read = await backlog();
    const { samples } = parsePrometheus(await (await get('/metrics', null)).text());
    for (const [queueName, part] of Object.entries(read.queues)) {
      expect(sampleValue(samples, 'bouy_queue_backlog', { queue: queueName }), queueName).toBe(part.backlog);
      expect(sampleValue(samples, 'bouy_queue_desired_slots', { queue: queueName }), queueName).toBe(part.slots);
    }
    expect(read.backlog).toBeGreaterThan(0);
  });

  it('answers a bad window with 400 naming it and what is allowed; without the token 401', async () => {
    for (const bad of ['abc', '-1', '3601', '', '1&window=2']) {
      const response = await get(`/backlog?window=${bad}`);
      expect(response.status, bad).toBe(400);
      const body = await response.json() as { error: string; message: string };
      expect(body.message, bad).toMatch(/^window=.* is not valid: seconds from 0 to 3600/);
    }
    expect((await get('/backlog', null)).status).toBe(401);
    const wrong = await get('/backlog', 'wrong-token-0123456789');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain(TOKEN);
  });
});

describe('the backlog settings', () => {
  it('a bad BACKLOG_WINDOW_SECONDS or a short BACKLOG_TOKEN exits 64 naming it, the token hidden', async () => {
    const run = runEntrypoint(['scheduler'], { REDIS_URL: 'redis://127.0.0.1:1', BACKLOG_WINDOW_SECONDS: 'soon', BACKLOG_TOKEN: 'short-secret' });
    const { code } = await run.exited;
    expect(code).toBe(64);
    const text = [...run.stdout, ...run.stderr].join('\n');
    expect(text).toContain('BACKLOG_WINDOW_SECONDS="soon" is not valid: a number from 0 to 3600');
    expect(text).toContain('BACKLOG_TOKEN="(hidden)"');
    expect(text).not.toContain('short-secret');
  });
});

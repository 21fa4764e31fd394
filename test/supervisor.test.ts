import { EXIT } from '../src/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, startFleet, withFleet } from './helpers/supervisor.js';
import { pollUntil, waitFor } from './helpers/wait.js';
import { FIXTURES, workerPidsOf } from './helpers/processes.js';
import { ABORT_GRACE_MS } from '../src/ipc.js';
import type { TestFleet } from './helpers/supervisor.js';

/**
 * A forced shutdown went through the hand-back, not the SIGKILL fallback 3 s (ABORT_GRACE_MS)
 * later: the worker exited by itself (no signal), and its job was back in the queue before
 * the worker exited (BullMQ's 'waiting' event, in Redis' clock) — the supervisor's own
 * reclaim comes only after the exit — and within ABORT_GRACE_MS of the force.
 */
async function expectHandedBack(fleet: TestFleet, jobId: string) {
  const forced = fleet.run.lines.find((l) => l.msg === 'forcing shutdown: active jobs go back to their queues');
  const stopped = fleet.run.lines.find((l) => l.msg === 'worker stopped');
  expect(forced).toBeDefined();
  expect(stopped?.exit).toMatch(/^exit code \d+$/);
  const events = await redis.client.xrange(`bull:${fleet.queueName}:events`, '-', '+');
  const backAt = events
    .filter(([, fields]) => fields[fields.indexOf('event') + 1] === 'waiting' && fields[fields.indexOf('jobId') + 1] === jobId && fields.includes('prev'))
    .map(([id]) => Number(id.split('-')[0]))
    .at(-1);
  expect(backAt).toBeDefined();
  expect(backAt!).toBeLessThanOrEqual(Date.parse(stopped!.time as string));
  expect(backAt! - Date.parse(forced!.time as string)).toBeLessThan(ABORT_GRACE_MS);
  expect(await (await fleet.queue.getJob(jobId))!.getState()).toBe('waiting');
}

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

describe('the worker supervisor', () => {
  it('runs WORKER_COUNT named workers that process every job exactly once', async () => {
    await withFleet(redis, { WORKER_COUNT: '3' }, async (fleet) => {
      await allReady(fleet);
      const jobs = await fleet.queue.addBulk(Array.from({ length: 60 }, (_, i) => ({ name: 'n', data: { ms: 5, i } })));
      await completedJobs(fleet, 60);
      // Counters arrive over IPC just after the job is committed.
      await waitFor(async () => (await fleet.health()).body.workers.reduce((sum: number, w: { jobs_completed: number }) => sum + w.jobs_completed, 0) === 60, 'counters');
      const started = await fleet.started();
      const ids = started.map((r) => r.id).sort();
      expect(ids).toEqual(jobs.map((j) => j.id!).sort());
      expect(new Set(ids).size).toBe(60);
      const names = new Set(started.map((r) => r.worker));
      for (const name of names) expect(name).toMatch(new RegExp(`^worker-${fleet.hostname}-[123]$`));
      expect(names.size).toBeGreaterThan(1);
      const { body } = await fleet.health();
      expect(body.workers.map((w: { name: string }) => w.name)).toEqual([1, 2, 3].map((i) => `worker-${fleet.hostname}-${i}`));
      expect(body.workers.reduce((sum: number, w: { jobs_completed: number }) => sum + w.jobs_completed, 0)).toBe(60);
      expect(await fleet.queue.getJobCounts('completed', 'failed', 'active', 'wait')).toEqual({ completed: 60, failed: 0, active: 0, wait: 0 });
    });
  });

  it('restarts a SIGKILLed worker in its slot after the delay and runs its job again', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', RESTART_DELAY_SECONDS: '1.5' }, async (fleet) => {
      await allReady(fleet);
      const job = await fleet.queue.add('long', { ms: 4000 });
      const [first] = await waitFor(async () => (await fleet.started()).filter((r) => r.id === job.id).length === 1 && fleet.started(), 'job started');
      process.kill(first!.pid!, 'SIGKILL');
      const exitLine = await fleet.run.waitForLog((l) => l.msg?.startsWith('worker exited unexpectedly') === true, 'exit logged');
      expect(exitLine.exit).toBe('signal SIGKILL');
      expect(exitLine.restart_in_s).toBe(1.5);
      const restarted = await fleet.run.waitForLog((l) => l.msg === 'worker process started' && l.pid !== first!.pid, 'slot restarted');
      expect(Date.parse(restarted.time as string) - Date.parse(exitLine.time as string)).toBeGreaterThanOrEqual(1400);
      expect(restarted.worker).toBe(`worker-${fleet.hostname}-1`);
      await completedJobs(fleet, 1);
      const runs = (await fleet.started()).filter((r) => r.id === job.id);
      expect(runs).toHaveLength(2);
      expect(runs[1]!.pid).not.toBe(first!.pid);
      expect(await (await fleet.queue.getJob(job.id!))!.getState()).toBe('completed');
      const { body } = await fleet.health();
      expect(body.workers[0]).toMatchObject({ restarts: 1, last_exit: 'signal SIGKILL', state: 'ready' });
    });
  });

  it('returns every job a killed worker had locked, even one fetched with the previous completion', async () => {
    // Concurrency 4 and 2 ms jobs: BullMQ takes most jobs inside the call that completes the
    // previous one, before any code of ours sees them. They must come back all the same.
    await withFleet(redis, { WORKER_COUNT: '2', WORKER_CONCURRENCY: '4', RESTART_DELAY_SECONDS: '0.2', MIN_UPTIME_SECONDS: '0' }, async (fleet) => {
      await allReady(fleet);
      const jobs = await fleet.queue.addBulk(Array.from({ length: 3000 }, () => ({ name: 'tiny', data: { ms: 2 } })));
      const key = `${fleet.prefix}:worker:worker-${fleet.hostname}-1`;
      const killed = new Set<number>();
      for (let round = 0; round < 3; round += 1) {
        await waitFor(async () => (await fleet.started()).length > 200 * (round + 1), 'jobs flowing');
        const bullId = await redis.client.hget(key, `bull:${fleet.queueName}`);
        const pid = Number(await redis.client.hget(key, 'pid'));
        expect(bullId).toBeTruthy();
        const exits = fleet.run.lines.filter((l) => l.msg?.startsWith('worker exited unexpectedly')).length;
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
        await waitFor(() => fleet.run.lines.filter((l) => l.msg?.startsWith('worker exited unexpectedly')).length > exits, 'the exit handled');
        // Reclaim ran before the exit was logged: no active job may still carry the dead worker's lock.
        const active = await redis.client.lrange(`bull:${fleet.queueName}:active`, 0, -1);
        const locks = await Promise.all(active.map((id) => redis.client.get(`bull:${fleet.queueName}:${id}:lock`)));
        expect(locks.filter((lock) => lock?.startsWith(`${bullId}:`))).toEqual([]);
        await fleet.run.waitForLog((l) => l.msg === `Workers ready: 2/2` && l.worker === `worker-${fleet.hostname}-1` && !killed.has(l.pid as number) && l.pid !== undefined
          && fleet.run.lines.indexOf(l) > fleet.run.lines.findLastIndex((x) => x.msg?.startsWith('worker exited unexpectedly')), 'slot back');
      }
      await completedJobs(fleet, jobs.length, 60_000);
      expect(await fleet.queue.getJobCounts('failed', 'active', 'wait')).toEqual({ failed: 0, active: 0, wait: 0 });
    });
  });

  it('on SIGTERM lets the active job finish, then exits 0', async () => {
    const fleet = await startFleet(redis, { WORKER_COUNT: '2' });
    await allReady(fleet);
    const job = await fleet.queue.add('long', { ms: 2500 });
    await waitFor(async () => (await fleet.started()).length === 1, 'job started');
    fleet.run.kill('SIGTERM');
    const { code, signal } = await fleet.run.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect((await fleet.finished()).map((r) => r.id)).toEqual([job.id]);
    expect(await (await fleet.queue.getJob(job.id!))!.getState()).toBe('completed');
    // Its workers are gone too (their WORKER_NAME is in their environment, not their argv).
    expect(await workerPidsOf(fleet.hostname)).toEqual([]);
    await fleet.close();
  });

  it('past SHUTDOWN_TIMEOUT_SECONDS stops the straggler and puts its job back in the queue', async () => {
    const fleet = await startFleet(redis, { WORKER_COUNT: '1', SHUTDOWN_TIMEOUT_SECONDS: '1' });
    await allReady(fleet);
    const job = await fleet.queue.add('endless', { ms: 60_000 });
    await waitFor(async () => (await fleet.started()).length === 1, 'job started');
    const sent = Date.now();
    fleet.run.kill('SIGTERM');
    const { code } = await fleet.run.exited;
    expect(code, 'a forced shutdown says so in its exit status').toBe(EXIT.forced);
    expect(Date.now() - sent).toBeLessThan(10_000);
    await expectHandedBack(fleet, job.id!);
    expect(await fleet.finished()).toEqual([]);
    await fleet.close();
  });

  it('a second signal forces shutdown at once', async () => {
    const fleet = await startFleet(redis, { WORKER_COUNT: '1', SHUTDOWN_TIMEOUT_SECONDS: '120' });
    await allReady(fleet);
    const job = await fleet.queue.add('endless', { ms: 60_000 });
    await waitFor(async () => (await fleet.started()).length === 1, 'job started');
    fleet.run.kill('SIGTERM');
    await fleet.run.waitForLog((l) => l.msg === 'shutting down: draining workers', 'drain started');
    fleet.run.kill('SIGINT');
    const { code } = await fleet.run.exited;
    expect(code).toBe(EXIT.forced);
    await expectHandedBack(fleet, job.id!);
    await fleet.close();
  });

  it('a straggler that cannot hand back (its event loop is stuck) is SIGKILLed 3 s after the abort, and its job still goes back', async () => {
    const fleet = await startFleet(redis, {
      WORKER_COUNT: '1', SHUTDOWN_TIMEOUT_SECONDS: '1', WORKER_HANG_TIMEOUT_SECONDS: '0', PROCESSOR: `${FIXTURES}/hang-once-processor.mjs`,
    });
    try {
      await allReady(fleet);
      const job = await fleet.queue.add('stuck', { hang: true });
      await waitFor(() => redis.client.get(`${fleet.recordPrefix}:hung:${job.id}`), 'the job to hang its worker');
      fleet.run.kill('SIGTERM');
      // Bounded here, so a missing SIGKILL fails this assertion instead of the test's timeout.
      const exited = await pollUntil(async () => fleet.run.proc.exitCode, (code) => code !== null, 15_000);
      expect(exited).toBe(EXIT.forced);
      await fleet.run.exited; // its last lines read
      const forced = fleet.run.lines.find((l) => l.msg === 'forcing shutdown: active jobs go back to their queues')!;
      const stopped = fleet.run.lines.find((l) => l.msg === 'worker stopped')!;
      expect(stopped.exit).toBe('signal SIGKILL');
      const graceMs = Date.parse(stopped.time as string) - Date.parse(forced.time as string);
      expect(graceMs).toBeGreaterThanOrEqual(ABORT_GRACE_MS - 100);
      expect(graceMs).toBeLessThan(ABORT_GRACE_MS + 2_000);
      expect(await (await fleet.queue.getJob(job.id!))!.getState()).toBe('waiting');
    } finally {
      await fleet.close();
    }
  });

  it('leaves no worker behind when the supervisor is SIGKILLed, and their jobs go back', async () => {
    const fleet = await startFleet(redis, { WORKER_COUNT: '2' });
    await allReady(fleet);
    const job = await fleet.queue.add('long', { ms: 60_000 });
    await waitFor(async () => (await fleet.started()).length === 1, 'job started');
    expect(await workerPidsOf(fleet.hostname)).toHaveLength(2);
    fleet.run.kill('SIGKILL');
    await fleet.run.exited;
    await waitFor(async () => (await workerPidsOf(fleet.hostname)).length === 0, 'workers to exit', 10_000);
    expect(await (await fleet.queue.getJob(job.id!))!.getState()).toBe('waiting');
    await fleet.close();
  });

  // Siblings abort together, and what one returns wakes another's blocking fetch. BullMQ sends
  // that fetch's moveToActive even after close(true) resolved; before the fence in
  // WorkerRuntime.abort it could land after the sibling's own hand-back, and the job stayed
  // active under a lock nobody renews until stall detection. 8-67 % of such 3 x 4 fleets failed
  // here without the fence (five runs of 10-12), depending on the load; six rounds.
  it('siblings SIGKILLed together return every job: none is fetched again by a sibling after its own hand-back', async () => {
    for (let round = 0; round < 6; round += 1) {
      const fleet = await startFleet(redis, { WORKER_COUNT: '3', WORKER_CONCURRENCY: '4' });
      try {
        await allReady(fleet);
        const jobs = await fleet.queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'long', data: { ms: 60_000, i } })));
        await waitFor(async () => (await fleet.started()).length === 6, 'all six jobs started');
        fleet.run.kill('SIGKILL');
        await fleet.run.exited;
        await waitFor(async () => (await workerPidsOf(fleet.hostname)).length === 0, 'workers to exit', 10_000);
        const states = await Promise.all(jobs.map(async (job) => `${job.id}:${await (await fleet.queue.getJob(job.id!))!.getState()}`));
        expect({ round, notBack: states.filter((state) => !state.endsWith(':waiting')) }).toEqual({ round, notBack: [] });
      } finally {
        await fleet.close();
      }
    }
  });

  it('kills a worker whose event loop is stuck and runs its job again elsewhere', async () => {
    await withFleet(redis, {
      WORKER_COUNT: '2', PROCESSOR: `${process.cwd()}/test/fixtures/hang-once-processor.mjs`,
      WORKER_HANG_TIMEOUT_SECONDS: '3', HEARTBEAT_SECONDS: '0.5', RESTART_DELAY_SECONDS: '0.5',
    }, async (fleet) => {
      await allReady(fleet);
      const job = await fleet.queue.add('stuck', { hang: true });
      const hungAt = Number(await waitFor(() => redis.client.get(`${fleet.recordPrefix}:hung:${job.id}`), 'the job to start (and hang)'));
      const killed = await fleet.run.waitForLog((l) => l.msg?.startsWith('worker unresponsive') === true, 'the hung worker noticed', 20_000);
      // Killed after the limit, not long after it: the worker last spoke at most one heartbeat
      // (0.5 s) before the hang began, and the watchdog looks once a heartbeat.
      const silentMs = Date.parse(killed.time as string) - hungAt;
      expect(silentMs).toBeGreaterThanOrEqual(3_000 - 600);
      expect(silentMs).toBeLessThan(3_000 + 2_500);
      const exit = await fleet.run.waitForLog((l) => l.msg?.startsWith('worker exited unexpectedly') === true, 'its exit');
      expect(exit.exit).toBe('signal SIGKILL');
      expect(exit.worker).toBe(killed.worker);
      await completedJobs(fleet, 1);
      expect((await fleet.started()).map((r) => r.id)).toEqual([job.id]);
      // The other worker was never touched.
      expect(fleet.run.lines.filter((l) => l.msg?.startsWith('worker unresponsive'))).toHaveLength(1);
    });
  });

  it('backs off a slot whose worker keeps dying at start (crash loop) instead of spinning', async () => {
    await withFleet(redis, {
      WORKER_COUNT: '1', PROCESSOR: `${process.cwd()}/test/fixtures/crash-at-start.mjs`,
      RESTART_DELAY_SECONDS: '0.2', MIN_UPTIME_SECONDS: '30', CRASH_LOOP_THRESHOLD: '2', CRASH_LOOP_MAX_DELAY_SECONDS: '3',
    }, async (fleet) => {
      const loop = await fleet.run.waitForLog((l) => l.msg?.includes('crash-looping') === true, 'crash loop reported');
      expect(loop.restart_in_s).toBe(2);
      const { status, body } = await waitFor(async () => {
        const h = await fleet.health();
        return h.body.workers[0].state === 'crash-loop' && h;
      }, 'health to show the crash loop');
      expect(status).toBe(503);
      expect(body.status).toBe('unhealthy');
      const next = await fleet.run.waitForLog((l) => l.msg?.includes('crash-looping') === true && (l.quick_deaths as number) === 3, 'next backoff', 10_000);
      // Doubling would make it 4 s: CRASH_LOOP_MAX_DELAY_SECONDS caps it.
      expect(next.restart_in_s).toBe(3);
      const starts = fleet.run.lines.filter((l) => l.msg === 'worker process started').length;
      expect(starts).toBeLessThanOrEqual(4);
    });
  });
});

describe('defaults and logs', () => {
  it('waits the default 10 s before restarting a dead worker', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', RESTART_DELAY_SECONDS: undefined }, async (fleet) => {
      await allReady(fleet);
      const { body } = await fleet.health();
      process.kill(body.workers[0].pid, 'SIGKILL');
      const exit = await fleet.run.waitForLog((l) => l.msg?.startsWith('worker exited unexpectedly') === true, 'exit logged');
      expect(exit.restart_in_s).toBe(10);
      const restarted = await fleet.run.waitForLog((l) => l.msg === 'worker process started' && l.pid !== body.workers[0].pid, 'restart', 20_000);
      const waited = Date.parse(restarted.time as string) - Date.parse(exit.time as string);
      expect(waited).toBeGreaterThanOrEqual(9_900);
    });
  });

  it('tags every worker line with its name and never mixes lines', async () => {
    // Read after the fleet closed: every line it ever wrote, its shutdown's too.
    const fleet = await withFleet(redis, { WORKER_COUNT: '3', LOG_LEVEL: 'info' }, async (running) => {
      await allReady(running);
      await running.queue.addBulk(Array.from({ length: 30 }, () => ({ name: 'n', data: { ms: 1 } })));
      await completedJobs(running, 30);
      return running;
    });
    // Every stdout line is one whole JSON object.
    expect(fleet.run.lines.length).toBe(fleet.run.stdout.length);
    const fromWorkers = fleet.run.lines.filter((l) => l.msg === 'worker ready');
    expect(fromWorkers.map((l) => l.worker).sort()).toEqual([1, 2, 3].map((i) => `worker-${fleet.hostname}-${i}`));
  });

  it('consumes several queues in priority order', async () => {
    const id = Math.random().toString(36).slice(2, 8);
    const [high, low] = [`hi-${id}`, `lo-${id}`];
    const fleet = await startFleet(redis, { WORKER_COUNT: '1', QUEUE_NAME: `${high},${low}` });
    const { Queue } = await import('bullmq');
    const lowQueue = new Queue(low, { connection: redis.client });
    try {
      await allReady(fleet);
      // Both queues filled while the worker is busy on a first high job; it must empty the high
      // queue before it touches the low one.
      await fleet.queue.add('first', { ms: 500 }, { jobId: 'high-first' });
      await waitFor(async () => (await fleet.started()).length === 1, 'first job started');
      // Job ids count per queue; give them names that cannot collide.
      const lows = await lowQueue.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'low', data: { ms: 1 }, opts: { jobId: `low-${i}` } })));
      const highs = await fleet.queue.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'high', data: { ms: 1 }, opts: { jobId: `high-${i}` } })));
      await waitFor(async () => (await fleet.finished()).length === 11, 'all jobs done');
      await completedJobs(fleet, 6);
      const order = (await fleet.started()).map((r) => r.id);
      const highIds = new Set(highs.map((j) => j.id));
      const lowIds = new Set(lows.map((j) => j.id));
      const lastHigh = Math.max(...order.map((id, i) => (highIds.has(id) ? i : -1)));
      const firstLow = Math.min(...order.map((id, i) => (lowIds.has(id) ? i : Infinity)));
      expect(lastHigh).toBeLessThan(firstLow);
    } finally {
      await lowQueue.close();
      await fleet.close();
    }
  });
});

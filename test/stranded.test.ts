import { EXIT } from '../src/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryKeys } from '../src/registry/keys.js';
import { KILLS_FIELD } from '../src/registry/kill-count.js';
import { FIXTURES, workerPidsOf, type LogLine } from './helpers/processes.js';
import { parsePrometheus, sampleValue } from './helpers/prometheus.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, startFleet, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const time = (line: LogLine) => Date.parse(line.time as string);

/**
 * Every way a job could be left `active` with nobody running it (issue 8, "Jobs stranded"):
 * each must bring the job back to its queue promptly, never through BullMQ's 30 s+ stall check.
 */
describe('no job stranded', () => {
  it('a worker whose supervisor is SIGKILLed mid-drain is gone within 5 s and its job is back in the queue', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', SHUTDOWN_TIMEOUT_SECONDS: '60' }, async (fleet) => {
      await allReady(fleet);
      const job = await fleet.queue.add('long', { ms: 60_000 });
      await waitFor(async () => (await fleet.started()).length === 1, 'job started');
      fleet.run.kill('SIGTERM');
      // The worker has begun its graceful close (BullMQ stores that closing promise)…
      await fleet.run.waitForLog((l) => l.msg === 'draining: finishing active jobs', 'the worker draining');
      // …when its supervisor dies.
      fleet.run.kill('SIGKILL');
      const killedAt = Date.now();
      await fleet.run.exited;
      await waitFor(async () => (await workerPidsOf(fleet.hostname)).length === 0, 'the orphan worker to exit', 10_000).catch(() => {});
      const orphanLived = Date.now() - killedAt;
      expect(await workerPidsOf(fleet.hostname), `orphan still alive ${orphanLived} ms after its supervisor died`).toEqual([]);
      expect(orphanLived).toBeLessThan(5000);
      expect(await (await fleet.queue.getJob(job.id!))!.getState()).toBe('waiting');
      expect(await redis.client.zrange(registryKeys(fleet.prefix).index, '0', '-1')).toEqual([]);
    });
  });

  it('a worker hung by its job dies soon after its supervisor is SIGKILLed, instead of spinning orphaned for ever', async () => {
    // The hang watchdog is off: only the worker's own parent watch can end it.
    await withFleet(redis, { WORKER_COUNT: '1', PROCESSOR: `${FIXTURES}/poison-processor.mjs`, WORKER_HANG_TIMEOUT_SECONDS: '0' }, async (fleet) => {
      await allReady(fleet);
      await fleet.queue.add('poison', { poison: true });
      await waitFor(async () => (await redis.client.llen(`${fleet.recordPrefix}:poisoned`)) === 1, 'the worker to hang in the poison job');
      const [pid] = await workerPidsOf(fleet.hostname);
      expect(pid).toBeGreaterThan(0);
      fleet.run.kill('SIGKILL');
      const killedAt = Date.now();
      await fleet.run.exited;
      // By /proc, zombies excluded: an orphan is reaped by whatever init the machine has.
      const alive = async () => (await workerPidsOf(fleet.hostname)).includes(pid!);
      await waitFor(async () => !(await alive()), 'the hung orphan to be killed', 15_000).catch(() => {});
      const lived = Date.now() - killedAt;
      expect(await alive(), `hung orphan ${pid} still alive ${lived} ms after its supervisor died`).toBe(false);
      // Its own hand-back had its chance (ABORT_EXIT_MS, 2.8 s) before the thread kills it.
      expect(lived).toBeGreaterThanOrEqual(2_500);
    });
  });

  it('a supervisor SIGKILLed and started again at once takes back its hung orphan\'s job (the orphan\'s registration is not lost to the new worker of that name)', async () => {
    // The chaos gap of issue 8 (seed 25951): the restarted supervisor's start-up clean-up left
    // the orphan's registration alone (its process was alive), its new worker of the same name
    // then replaced it, and when the orphan died nobody knew its BullMQ ids: its job waited
    // 30 s+ for BullMQ's stall check. The hang watchdog is off: the orphan cannot hand back.
    const env = { WORKER_COUNT: '1', PROCESSOR: `${FIXTURES}/poison-processor.mjs`, WORKER_HANG_TIMEOUT_SECONDS: '0', SHUTDOWN_TIMEOUT_SECONDS: '2' };
    const first = await startFleet(redis, env);
    const poisoned = () => redis.client.llen(`${first.recordPrefix}:poisoned`);
    try {
      await allReady(first);
      const job = await first.queue.add('poison', { poison: true });
      await waitFor(async () => (await poisoned()) === 1, 'the worker to hang in the poison job');
      const [orphan] = await workerPidsOf(first.hostname);
      first.run.kill('SIGKILL');
      await first.run.exited;
      const { BOUY_HOSTNAME, BOUY_PREFIX, QUEUE_NAME, TEST_RECORD_PREFIX } = first.env;
      await withFleet(redis, { ...env, BOUY_HOSTNAME, BOUY_PREFIX, QUEUE_NAME, TEST_RECORD_PREFIX }, async (second) => {
        const restartedAt = Date.now();
        // Back in the queue and taken by the new worker, which hangs in it in turn.
        await waitFor(async () => (await poisoned()) === 2, 'the orphan\'s job to run again', 12_000).catch(() => {});
        const waited = Date.now() - restartedAt;
        expect(await poisoned(), `the job was not handed back ${waited} ms after the restart (state ${await (await second.queue.getJob(job.id!))?.getState()})`).toBe(2);
        expect((await workerPidsOf(first.hostname)).includes(orphan!), 'the orphan is still alive').toBe(false);
        // Killed because its supervisor died, not by the job: no kill counted against it.
        expect(await redis.client.hget(first.queue.toKey(job.id!), KILLS_FIELD)).toBeNull();
      });
    } finally {
      await first.queue.close();
    }
  });

  it('a worker whose supervisor dies while it starts never registers nor takes a job, so it cannot take one the new supervisor will not know of', async () => {
    // The other half of the seed-25951 gap: orphaned before it registered, the worker would
    // register after the new supervisor's clean-up (or replace its new worker's entry), fetch,
    // hang in the poison job, and die by its parent watch with its BullMQ ids on record nowhere.
    const env = { WORKER_COUNT: '1', PROCESSOR: `${FIXTURES}/slow-import-poison.mjs`, WORKER_HANG_TIMEOUT_SECONDS: '0', SHUTDOWN_TIMEOUT_SECONDS: '2', TEST_IMPORT_DELAY_MS: '1500' };
    const first = await startFleet(redis, env);
    try {
      await first.run.waitForLog((l) => l.msg === 'worker process forked', 'the worker forked');
      const [orphan] = await workerPidsOf(first.hostname);
      await first.queue.add('poison', { poison: true });
      first.run.kill('SIGKILL');
      await first.run.exited;
      const { BOUY_HOSTNAME, BOUY_PREFIX, QUEUE_NAME, TEST_RECORD_PREFIX } = first.env;
      await withFleet(redis, { ...env, BOUY_HOSTNAME, BOUY_PREFIX, QUEUE_NAME, TEST_RECORD_PREFIX }, async () => {
        const poisoned = async () => (await redis.client.lrange(`${first.recordPrefix}:poisoned`, 0, -1)).map((s) => JSON.parse(s) as { pid: number });
        await waitFor(async () => (await poisoned()).length >= 1, 'the poison job to be taken', 15_000);
        const [taker] = await poisoned();
        expect(orphan).toBeGreaterThan(0);
        expect(taker!.pid, `the orphan ${orphan} took the job`).not.toBe(orphan);
        await waitFor(async () => !(await workerPidsOf(first.hostname)).includes(orphan!), 'the orphan to exit', 6_000).catch(() => {});
        expect((await workerPidsOf(first.hostname)).includes(orphan!), 'the orphan is still alive').toBe(false);
      });
    } finally {
      await first.queue.close();
    }
  });

  it('at the drain deadline the straggler hands its job back and exits by itself, not by the SIGKILL fallback', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', SHUTDOWN_TIMEOUT_SECONDS: '1' }, async (fleet) => {
      await allReady(fleet);
      const job = await fleet.queue.add('endless', { ms: 60_000 });
      await waitFor(async () => (await fleet.started()).length === 1, 'job started');
      fleet.run.kill('SIGTERM');
      expect((await fleet.run.exited).code).toBe(EXIT.forced);
      const forced = fleet.run.lines.find((l) => l.msg === 'forcing shutdown: active jobs go back to their queues')!;
      const stopped = fleet.run.lines.find((l) => l.msg === 'worker stopped')!;
      expect(stopped.exit).toBe('exit code 0');
      expect(time(stopped) - time(forced)).toBeLessThan(1500);
      const back = await fleet.queue.getJob(job.id!);
      expect(await back!.getState()).toBe('waiting');
      // A graceful hand-back is not a kill: it does not count towards MAX_JOB_KILLS.
      expect(await redis.client.hget(`bull:${fleet.queueName}:${job.id}`, 'bouy:kills')).toBeNull();
    });
  });

  it('process.exit(0) in the middle of a job is a crash: the job runs again at once', async () => {
    await withFleet(redis, { WORKER_COUNT: '2', PROCESSOR: `${FIXTURES}/exit-once-processor.mjs`, RESTART_DELAY_SECONDS: '30' }, async (fleet) => {
      await allReady(fleet);
      const job = await fleet.queue.add('quits', { exit: 0, ms: 50 });
      const exit = await fleet.run.waitForLog((l) => l.msg?.startsWith('worker exited unexpectedly') === true, 'the exit handled as a crash');
      expect(exit.exit).toBe('exit code 0');
      await completedJobs(fleet, 1, 10_000).catch(() => {});
      expect(await (await fleet.queue.getJob(job.id!))!.getState()).toBe('completed');
      const runs = (await fleet.started()).filter((r) => r.id === job.id);
      expect(runs).toHaveLength(2);
      // On the other worker, long before the exited slot's 30 s restart and before stall detection.
      expect(runs[1]!.at - time(exit)).toBeLessThan(2000);
      expect(runs[1]!.worker).not.toBe(runs[0]!.worker);
      expect(fleet.run.lines.some((l) => typeof l.msg === 'string' && /^returned 1 job\(s\) of the dead worker/.test(l.msg))).toBe(true);
    });
  });

  it('a poison job that kills its worker fails after MAX_JOB_KILLS hand-backs instead of looping for ever', async () => {
    await withFleet(redis, {
      WORKER_COUNT: '2', PROCESSOR: `${FIXTURES}/poison-processor.mjs`, MAX_JOB_KILLS: '2',
      WORKER_HANG_TIMEOUT_SECONDS: '1', HEARTBEAT_SECONDS: '0.25', RESTART_DELAY_SECONDS: '0.2', MIN_UPTIME_SECONDS: '0',
    }, async (fleet) => {
      await allReady(fleet);
      const poison = await fleet.queue.add('poison', { poison: true });
      const good = await fleet.queue.addBulk(Array.from({ length: 5 }, () => ({ name: 'good', data: { ms: 10 } })));
      const failed = await waitFor(async () => (await fleet.queue.getJob(poison.id!))?.failedReason, 'the poison job failed', 30_000).catch(() => undefined);
      const runs = (await redis.client.lrange(`${fleet.recordPrefix}:poisoned`, 0, -1)).length;
      expect(failed, `poison job ran ${runs} times and never failed`).toBe('killed its worker 3 times (MAX_JOB_KILLS=2)');
      expect(runs).toBe(3);
      expect(await (await fleet.queue.getJob(poison.id!))!.getState()).toBe('failed');
      await completedJobs(fleet, 5);
      for (const job of good) expect(await (await fleet.queue.getJob(job.id!))!.getState()).toBe('completed');
      const metrics = await (await fetch(`http://127.0.0.1:${fleet.healthPort}/metrics`)).text();
      expect(sampleValue(parsePrometheus(metrics).samples, 'bouy_jobs_poisoned_total', { queue: fleet.queueName })).toBe(1);
    });
  });

  it('a heartbeat that finds its registration gone (FLUSHALL) registers again in full, so a later SIGKILL returns the job', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', HEARTBEAT_SECONDS: '0.25', RESTART_DELAY_SECONDS: '0.2', SHUTDOWN_TIMEOUT_SECONDS: '1' }, async (fleet) => {
      await allReady(fleet);
      const key = registryKeys(fleet.prefix).worker(`worker-${fleet.hostname}-1`);
      const bullField = `bull:${fleet.queueName}`;
      expect(await redis.client.hget(key, bullField)).toBeTruthy();
      await redis.client.flushall(); // this test file's own redis-server
      // The heartbeat is the index's score (the supervisor writes it; the worker registers again when it is gone).
      await waitFor(async () => (await redis.client.zscore(registryKeys(fleet.prefix).index, `worker-${fleet.hostname}-1`)) !== null, 'a heartbeat after the flush');
      await waitFor(async () => (await redis.client.hget(key, bullField)) !== null, 'the BullMQ worker id registered again', 3000).catch(() => {});
      expect(await redis.client.hgetall(key)).toMatchObject({ [bullField]: expect.any(String), pid: expect.any(String), queues: fleet.queueName });
      expect(await redis.client.zscore(registryKeys(fleet.prefix).index, `worker-${fleet.hostname}-1`)).not.toBeNull();

      const job = await fleet.queue.add('long', { ms: 60_000 });
      const [run] = await waitFor(async () => (await fleet.started()).length === 1 && fleet.started(), 'job started');
      process.kill(run!.pid!, 'SIGKILL');
      await fleet.run.waitForLog((l) => l.msg?.startsWith('worker exited unexpectedly') === true, 'the exit handled');
      await waitFor(async () => (await fleet.started()).length === 2, 'the job running again', 10_000).catch(() => {});
      expect((await fleet.started()).filter((r) => r.id === job.id)).toHaveLength(2);
    });
  });

  it('the fleet returns the jobs of a dead container nothing restarts, once its heartbeat expired, and only those', async () => {
    const heartbeat = 1;
    const dead = await startFleet(redis, { WORKER_COUNT: '1', HEARTBEAT_SECONDS: String(heartbeat) }, { detached: true });
    const shared = { QUEUE_NAME: dead.queueName, BOUY_PREFIX: dead.prefix, HEARTBEAT_SECONDS: String(heartbeat) };
    let survivor: Awaited<ReturnType<typeof startFleet>> | undefined;
    try {
      await allReady(dead);
      const stranded = await dead.queue.add('stranded', { ms: 30_000 });
      await waitFor(async () => (await dead.started()).length === 1, 'the doomed container running the job');
      survivor = await startFleet(redis, { ...shared, WORKER_COUNT: '1', WORKER_CONCURRENCY: '2', SHUTDOWN_TIMEOUT_SECONDS: '1' });
      await allReady(survivor);
      const own = await survivor.queue.add('own', { ms: 6000 });
      await waitFor(async () => (await survivor!.started()).some((r) => r.id === own.id), 'the survivor running its own job');

      expect(await dead.finished()).toEqual([]); // still running it
      process.kill(-dead.run.pid, 'SIGKILL'); // the whole container: supervisor and workers
      const killedAt = Date.now();
      await dead.run.exited;
      const again = await waitFor(async () => (await survivor!.started()).find((r) => r.id === stranded.id), 'the dead container\'s job running again', 15_000).catch(() => undefined);
      const waited = again ? again.at - killedAt : Infinity;
      expect(waited, `job ran again ${waited} ms after the kill`).toBeLessThanOrEqual((3 * heartbeat + 2) * 1000);
      // Never a live worker's job: the survivor's own job ran once, untouched.
      await completedJobs(survivor, 1, 15_000);
      expect(await (await survivor.queue.getJob(own.id!))!.getState()).toBe('completed');
      expect((await survivor.started()).filter((r) => r.id === own.id)).toHaveLength(1);
      expect(survivor.run.lines.find((l) => l.msg?.startsWith('returned 1 job(s) of dead peers') === true)?.jobs).toEqual([`${dead.queueName}:${stranded.id}`]);
      const names = await redis.client.zrange(registryKeys(dead.prefix).index, '0', '-1');
      expect(names).toEqual([`worker-${survivor.hostname}-1`]);
    } finally {
      if (dead.run.proc.exitCode === null && dead.run.proc.signalCode === null) process.kill(-dead.run.pid, 'SIGKILL');
      await dead.close();
      await survivor?.close();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarize } from '../src/dashboard/fleet-overview.js';
import { parseCommand, sendCommand } from '../src/fleet/commands.js';
import { MAX_EVENTS, readEvents, recordEvent } from '../src/fleet/events.js';
import { fleetKeys } from '../src/fleet/keys.js';
import { MAX_JOBS_LISTED, readSnapshots, type SupervisorSnapshot } from '../src/fleet/snapshot.js';
import { workerPidsOf } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, startFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

// What the fleet page is built from: the snapshots supervisors publish, the event list and
// the command channel, on a real Redis with real supervisors.

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

describe('fleet snapshots', () => {
  it('a SIGKILLed container vanishes once its snapshot expires; a stopped one withdraws it at once', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `bouy-${id}`;
    const env = { BOUY_PREFIX: prefix, QUEUE_NAME: `q-${id}`, HEARTBEAT_SECONDS: '1', WORKER_CONCURRENCY: '2' };
    const dead = await startFleet(redis, { ...env, WORKER_COUNT: '1' }, { detached: true });
    const alive = await startFleet(redis, { ...env, WORKER_COUNT: '2' });
    try {
      await Promise.all([allReady(dead), allReady(alive)]);
      const both = await waitFor(async () => {
        const s = await readSnapshots(redis.client, prefix);
        return s.length === 2 && s.every((c) => c.workers.every((w) => w.state === 'ready' && w.rss_bytes! > 0)) && s;
      }, 'both supervisors to publish ready workers');
      expect(both.map((s) => s.host).sort()).toEqual([dead.hostname, alive.hostname].sort());
      const overview = summarize(both, []);
      expect(overview.summary).toMatchObject({ containers: 2, workers: 3, busy_slots: 0, total_slots: 6, utilization_pct: 0 });
      expect(overview.summary.agreement.consistent).toBe(true);

      // The whole container dies: nothing withdraws its snapshot, the expiry does (3 heartbeats).
      const killedAt = Date.now();
      process.kill(-dead.run.pid, 'SIGKILL');
      await waitFor(async () => (await readSnapshots(redis.client, prefix)).length === 1, 'the dead container to vanish', 15_000);
      expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1000);
      expect(await redis.client.zrange(fleetKeys(prefix).snapshots, '0', '-1')).toEqual([alive.hostname]);

      // A busy worker shows its job, with when it started.
      const job = await alive.queue.add('slow-one', { ms: 2500 });
      const busy = await waitFor(async () => {
        const [s] = await readSnapshots(redis.client, prefix);
        return s?.workers.find((w) => w.state === 'busy');
      }, 'a busy worker in the snapshot');
      expect(busy.jobs).toEqual([{ queue: alive.queueName, name: 'slow-one', id: job.id, started_at: expect.any(Number) }]);
      expect(Date.now() - busy.jobs[0]!.started_at).toBeLessThan(10_000);

      await alive.close();
      expect(await readSnapshots(redis.client, prefix)).toEqual([]);
    } finally {
      if (dead.run.proc.exitCode === null && dead.run.proc.signalCode === null) process.kill(-dead.run.pid, 'SIGKILL');
      await dead.queue.close();
      await alive.close();
      await waitFor(async () => (await workerPidsOf(dead.hostname)).length === 0, 'the killed container\'s workers gone');
    }
  });

  it('a command for a host reaches its supervisor; a stale, foreign or malformed one is ignored', async () => {
    const fleet = await startFleet(redis, { WORKER_COUNT: '1' });
    try {
      await allReady(fleet);
      const key = fleetKeys(fleet.prefix).commands(fleet.hostname);
      // Written by something other than the dashboard: each is refused by the supervisor.
      await redis.client.rpush(key, 'not json', JSON.stringify({ action: 'quiet', host: fleet.hostname, at: Date.now() - 60_000 }),
        JSON.stringify({ action: 'quiet', host: 'someone-else', at: Date.now() }), JSON.stringify({ action: 'resize', host: fleet.hostname, workers: 99, at: Date.now() }));
      await fleet.run.waitForLog((l) => l.msg === 'fleet page command ignored' && /workers 99 is not valid/.test(String(l.why)), 'the bad resize ignored');
      const ignored = fleet.run.lines.filter((l) => l.msg === 'fleet page command ignored').map((l) => String(l.why));
      expect(ignored).toEqual(['not JSON', 'older than 30 s', 'for host someone-else', expect.stringMatching(/workers 99 is not valid/)]);
      expect((await fleet.health()).body).toMatchObject({ status: 'healthy', worker_count: 1 });

      await sendCommand(redis.client, fleet.prefix, { action: 'resize', host: fleet.hostname, workers: 2 });
      await waitFor(async () => (await fleet.health()).body.workers_ready === 2, 'the second worker');
      const events = await waitFor(async () => {
        const list = await readEvents(redis.client, fleet.prefix);
        return list.some((e) => e.kind === 'resize') && list;
      }, 'the resize event');
      expect(events[0]).toMatchObject({ host: fleet.hostname, kind: 'resize', message: 'resized to 2 worker(s) from the fleet page' });
    } finally {
      await fleet.close();
    }
  });
});

describe('fleet bounds and validation', () => {
  it('keeps at most MAX_EVENTS events, newest first', async () => {
    const prefix = `bouy-${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < MAX_EVENTS + 25; i += 1) await recordEvent(redis.client, prefix, { host: 'h', kind: 'restart', message: `event ${i} ${'x'.repeat(i === 0 ? 1000 : 0)}` });
    expect(await redis.client.llen(fleetKeys(prefix).events)).toBe(MAX_EVENTS);
    const events = await readEvents(redis.client, prefix, 500);
    expect(events).toHaveLength(MAX_EVENTS);
    expect(events[0]!.message).toBe(`event ${MAX_EVENTS + 24} `);
  });

  it('parseCommand accepts the three actions and names what is wrong otherwise', () => {
    expect(parseCommand({ action: 'quiet', host: 'abc' })).toEqual({ command: { action: 'quiet', host: 'abc' } });
    expect(parseCommand({ action: 'recycle', host: 'abc' })).toEqual({ command: { action: 'recycle', host: 'abc', worker: 'all' } });
    expect(parseCommand({ action: 'recycle', host: 'abc', worker: 3 })).toEqual({ command: { action: 'recycle', host: 'abc', worker: 3 } });
    expect(parseCommand({ action: 'resize', host: 'abc', workers: 20 })).toEqual({ command: { action: 'resize', host: 'abc', workers: 20 } });
    const errors: Array<[unknown, RegExp]> = [
      [null, /must be a JSON object/], [[1], /must be a JSON object/], ['quiet', /must be a JSON object/],
      [{ action: 'stop', host: 'abc' }, /action "stop" is not valid/],
      [{ action: 'quiet', host: '../x' }, /host "..\/x" is not valid/], [{ action: 'quiet' }, /host undefined is not valid/],
      [{ action: 'recycle', host: 'abc', worker: 0 }, /worker 0 is not valid: a worker index from 1 to 20, or "all"/],
      [{ action: 'recycle', host: 'abc', worker: '2' }, /worker "2" is not valid/],
      [{ action: 'resize', host: 'abc', workers: 1.5 }, /workers 1.5 is not valid/],
      [{ action: 'resize', host: 'abc' }, /workers undefined is not valid/],
      [{ action: 'quiet', host: 'abc', workers: 2 }, /unknown field\(s\) for quiet: workers/],
    ];
    for (const [input, message] of errors) expect((parseCommand(input) as { error: string }).error, JSON.stringify(input)).toMatch(message);
  });

  it('summarize counts busy slots up to each worker\'s concurrency, RSS, leaders and disagreement', () => {
    const worker = (jobs: number, pid: number | null = 1) => ({
      name: 'w', index: 1, pid, state: jobs ? 'busy' : 'ready', rss_bytes: 100, uptime_s: 1, jobs_active: jobs,
      jobs: [], jobs_completed: 0, jobs_failed: 0, restarts: 0, recycles: {}, recycle_refused: null, last_exit: null,
    }) as SupervisorSnapshot['workers'][number];
    const container = (host: string, fingerprint: string, leader: boolean, workers: SupervisorSnapshot['workers']) => ({
      host, pid: 1, version: '1', fingerprint, queues: ['q'], concurrency: 2, started_at: 0, uptime_s: 0,
      health_port: null, leader, quiet: false, restarts: 0, at: 0, workers,
    }) as SupervisorSnapshot;
    const overview = summarize([container('a', 'f1', true, [worker(2), worker(1)]), container('b', 'f2', false, [worker(0), worker(0, null)])], []);
    expect(overview.summary).toMatchObject({
      containers: 2, workers: 4, busy_slots: 3, total_slots: 6, utilization_pct: 50, rss_bytes: 400, leaders: ['a'],
      agreement: { consistent: false, fingerprints: { f1: ['a'], f2: ['b'] }, versions: { 1: ['a', 'b'] } },
    });
    expect(MAX_JOBS_LISTED).toBeLessThanOrEqual(20);
  });
});

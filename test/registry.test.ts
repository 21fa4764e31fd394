import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryKeys } from '../src/registry/keys.js';
import { KILLS_FIELD } from '../src/registry/kill-count.js';
import { Registry } from '../src/registry/registry.js';
import { publishMember } from '../src/registry/members.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const DEAD_PID = 2 ** 22 + 12345; // above pid_max's default: never a live process

async function plant(prefix: string, name: string, host: string, heartbeatAgoMs: number, extra: Record<string, string> = {}) {
  const keys = registryKeys(prefix);
  const at = Date.now() - heartbeatAgoMs;
  await redis.client.multi()
    .hset(keys.worker(name), { name, pid: DEAD_PID, host, queues: 'llm', started: at - 1000, heartbeat: at, state: 'ready', completed: 3, failed: 0, ...extra })
    .zadd(keys.index, at, name)
    .exec();
}

/** A bare BullMQ worker takes one job of `queueName` and holds its lock (30 s). */
async function holdJob(queueName: string, name: string) {
  const connection = redis.client.duplicate();
  const worker = new Worker(queueName, null, { connection, autorun: false, lockDuration: 30_000 });
  const queue = new Queue(queueName, { connection: redis.client });
  const added = await queue.add(name, { ms: 0 });
  await queue.close();
  // BullMQ's own token shape, <worker id>:<n>: a registration names the worker id.
  const token = `${worker.id}:0`;
  const job = await worker.getNextJob(token);
  expect(job?.id).toBe(added.id);
  /** Stops the worker without a word (its lock stays) and drops its connection. */
  const release = async () => {
    await worker.close(true);
    connection.disconnect();
  };
  return { worker, job, token, release };
}

describe('stale registrations', () => {
  it('removes this host\'s earlier registrations and expired ones elsewhere at start-up, keeps live ones', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `bouy-${id}`;
    const hostname = `host${id}`;
    await plant(prefix, `worker-${hostname}-1`, hostname, 1000); // fresh, but this host restarted
    await plant(prefix, `worker-${hostname}-7`, hostname, 1000); // an index the new run does not have
    await plant(prefix, 'worker-gone-1', 'gone', 600_000); // heartbeat long expired
    await plant(prefix, 'worker-alive-1', 'alive', 500); // another container, alive
    // Stale after 3 × 20 s: however slowly the fleet starts on a loaded machine, the live
    // registration is still fresh when the clean-up looks at it.
    await withFleet(redis, { BOUY_PREFIX: prefix, BOUY_HOSTNAME: hostname, WORKER_COUNT: '2', HEARTBEAT_SECONDS: '20' }, async (fleet) => {
      const line = await fleet.run.waitForLog((l) => l.msg?.startsWith('removed ') === true, 'clean-up logged');
      expect(line.removed).toBe(3);
      await allReady(fleet);
      const keys = registryKeys(prefix);
      const names = await redis.client.zrange(keys.index, '0', '-1');
      expect(names.sort()).toEqual(['worker-alive-1', `worker-${hostname}-1`, `worker-${hostname}-2`].sort());
      expect(await redis.client.exists(keys.worker(`worker-${hostname}-7`), keys.worker('worker-gone-1'))).toBe(0);
      expect(await redis.client.hget(keys.worker(`worker-${hostname}-1`), 'pid')).not.toBe(String(DEAD_PID));
    });
  });

  it('puts a job held by a dead registration back at once instead of waiting for stall detection', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `bouy-${id}`;
    const hostname = `host${id}`;
    const queueName = `q-${id}`;
    // A worker takes a job and dies without a word: its lock (30 s) would hold the job hostage.
    const { worker: thief, job: taken, token, release } = await holdJob(queueName, 'held');
    await plant(prefix, `worker-${hostname}-1`, hostname, 1000, { [`bull:${queueName}`]: thief.id });
    await release();
    expect(await redis.client.get(`bull:${queueName}:${taken.id}:lock`)).toBe(token);

    await withFleet(redis, { BOUY_PREFIX: prefix, BOUY_HOSTNAME: hostname, QUEUE_NAME: queueName }, async (fleet) => {
      const line = await fleet.run.waitForLog((l) => l.msg?.startsWith('removed ') === true, 'clean-up logged');
      expect(line.requeued).toBe(1);
      await waitFor(async () => (await fleet.finished()).some((r) => r.id === taken.id), 'the held job to run', 10_000);
      expect(await (await fleet.queue.getJob(taken.id!))!.getState()).toBe('completed');
    });
  });

  it('leaves a same-hostname registration of a live process alone: another supervisor shares this hostname, and taking its job would run it twice', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `bouy-${id}`;
    const hostname = `host${id}`;
    const queueName = `q-${id}`;
    const { worker: holder, job, token, release } = await holdJob(queueName, 'running-elsewhere');
    const queue = new Queue(queueName, { connection: redis.client });
    // Fresh heartbeat, this hostname, and a pid that is alive on this machine (this test's own).
    const name = `worker-${hostname}-5`;
    await plant(prefix, name, hostname, 500, { pid: String(process.pid), [`bull:${queueName}`]: holder.id });
    try {
      // A 60 s stale limit: the planted registration stays fresh however slow the start.
      await withFleet(redis, { BOUY_PREFIX: prefix, BOUY_HOSTNAME: hostname, QUEUE_NAME: queueName, HEARTBEAT_SECONDS: '20' }, async (fleet) => {
        const warning = await fleet.run.waitForLog((l) => l.msg?.includes('another supervisor shares this hostname') === true, 'the shared hostname reported');
        expect(warning.workers).toEqual([name]);
        await allReady(fleet);
        expect(await redis.client.exists(registryKeys(prefix).worker(name))).toBe(1);
        expect(await redis.client.get(`bull:${queueName}:${job.id}:lock`)).toBe(token);
        expect(await (await queue.getJob(job.id!))!.getState()).toBe('active');
        expect(await fleet.started()).toEqual([]);
      });
    } finally {
      await release();
      await queue.close();
    }
  });
});

describe('stale registrations of a live supervisor', () => {
  it('are left to that supervisor at start-up: a late heartbeat is not a death, and taking its job would run it twice', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `bouy-${id}`;
    const queueName = `q-${id}`;
    const { worker: holder, job, token, release } = await holdJob(queueName, 'running-on-a-live-peer');
    const queue = new Queue(queueName, { connection: redis.client });
    // The peer's worker beat last 60 s ago (hung, or its machine crawls), but its supervisor
    // published its presence just now, on Redis's clock.
    const name = 'worker-livepeer-1';
    await plant(prefix, name, 'livepeer', 60_000, { [`bull:${queueName}`]: holder.id });
    const [seconds, micros] = await redis.client.time();
    await publishMember(redis.client, prefix, { host: 'livepeer', fingerprint: 'x', version: 'x', settings: {}, at: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) });
    try {
      await withFleet(redis, { BOUY_PREFIX: prefix, QUEUE_NAME: queueName, HEARTBEAT_SECONDS: '20' }, async (fleet) => {
        const line = await fleet.run.waitForLog((l) => l.msg?.startsWith('removed ') === true, 'clean-up logged');
        expect(line.removed).toBe(0);
        await allReady(fleet);
        expect(await redis.client.get(`bull:${queueName}:${job.id}:lock`)).toBe(token);
        expect(await (await queue.getJob(job.id!))!.getState()).toBe('active');
        expect(await redis.client.exists(registryKeys(prefix).worker(name))).toBe(1);
      });
    } finally {
      await release();
      await queue.close();
    }
  });
});

describe('a host whose name begins with this one\'s', () => {
  it('keeps its registrations at this host\'s start-up: worker-<host>-* also matches <host>-peer\'s workers', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `bouy-${id}`;
    const hostname = `host${id}`;
    const queueName = `q-${id}`;
    const { worker: holder, job, token, release } = await holdJob(queueName, 'running-on-another-container');
    const queue = new Queue(queueName, { connection: redis.client });
    // Fresh, of host `<hostname>-peer`, its pid not alive here (it runs in another container).
    const name = `worker-${hostname}-peer-1`;
    await plant(prefix, name, `${hostname}-peer`, 500, { [`bull:${queueName}`]: holder.id });
    try {
      await withFleet(redis, { BOUY_PREFIX: prefix, BOUY_HOSTNAME: hostname, QUEUE_NAME: queueName, HEARTBEAT_SECONDS: '20' }, async (fleet) => {
        const line = await fleet.run.waitForLog((l) => l.msg?.startsWith('removed ') === true, 'clean-up logged');
        expect(line.removed).toBe(0);
        await allReady(fleet);
        expect(await redis.client.get(`bull:${queueName}:${job.id}:lock`)).toBe(token);
        expect(await (await queue.getJob(job.id!))!.getState()).toBe('active');
      });
    } finally {
      await release();
      await queue.close();
    }
  });
});

describe('kills counted when a worker dies with several jobs', () => {
  it('count against the jobs with the most kills so far: a poison job leads, its innocent neighbours are not failed with it', async () => {
    const queueName = `kills-${randomUUID().slice(0, 8)}`;
    const connection = redis.client.duplicate();
    const worker = new Worker(queueName, null, { connection, autorun: false, lockDuration: 30_000 });
    const queue = new Queue(queueName, { connection: redis.client });
    try {
      const [poison, neighbour, another] = await queue.addBulk(['poison', 'neighbour', 'another'].map((name) => ({ name, data: {} })));
      // One worker took all three (BullMQ tokens <worker id>:<n>); the poison job has died once before.
      for (const n of [0, 1, 2]) expect(await worker.getNextJob(`${worker.id}:${n}`)).toBeDefined();
      await redis.client.hset(queue.toKey(poison!.id!), KILLS_FIELD, '1');
      const registry = new Registry(redis.client, `bouy-${queueName}`, 'bull');
      const moved = await registry.reclaimLockedBy(new Map([[queueName, new Set([worker.id])]]), { maxKills: 1 });
      expect(moved.map((j) => j.jobId).sort()).toEqual([poison!.id, neighbour!.id, another!.id].sort());
      expect(moved.find((j) => j.jobId === poison!.id)?.poisoned).toBe(true); // 2 kills > MAX_JOB_KILLS 1
      expect(await (await queue.getJob(poison!.id!))!.getState()).toBe('failed');
      for (const job of [neighbour!, another!]) {
        expect(await redis.client.hget(queue.toKey(job.id!), KILLS_FIELD), `${job.name} counted a kill`).toBeNull();
        expect(['waiting', 'delayed']).toContain(await (await queue.getJob(job.id!))!.getState());
      }
    } finally {
      await worker.close(true);
      connection.disconnect();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
  });
});

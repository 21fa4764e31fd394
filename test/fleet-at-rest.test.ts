import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetKeys } from '../src/fleet/keys.js';
import { registryKeys } from '../src/registry/keys.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, startFleet, type TestFleet } from './helpers/supervisor.js';
import { sleep } from './helpers/wait.js';
import { commandCalls } from './helpers/commandstats.js';

/**
 * What a fleet at rest writes to Redis (issue 21, goal 4), counted by Redis itself: keyspace
 * notifications of this file's own server tell every write to a key as it happens. The bounds
 * are Redis's own: a key set with NX PX can be taken at most once per PX, however many ask.
 */
let redis: RedisServer;
let events: Redis;
beforeAll(async () => {
  redis = await startRedis();
  await redis.client.config('SET', 'notify-keyspace-events', 'K$z');
  events = new Redis(redis.url);
});
afterAll(async () => {
  events?.disconnect();
  await redis?.close();
});

/** Counts the `event`s (keyspace notifications: `set`, `zadd`) on `key` from now on; `stop()` returns how many and over how long. */
async function countEvents(key: string, event: string): Promise<{ stop(): Promise<{ count: number; ms: number }> }> {
  const channel = `__keyspace@0__:${key}`;
  let count = 0;
  const listener = (ch: string, message: string) => { if (ch === channel && message === event) count += 1; };
  events.on('message', listener);
  await events.subscribe(channel);
  const t0 = Date.now();
  return {
    async stop() {
      const ms = Date.now() - t0;
      await events.unsubscribe(channel);
      events.off('message', listener);
      return { count, ms };
    },
  };
}

describe('a fleet at rest', () => {
  it('writes one heartbeat a heartbeat for a container of workers, and reads Redis\'s clock once a heartbeat', async () => {
    // Counted on main before this change: 3 ZADDs a heartbeat (one per worker) and 3.2 TIMEs a second.
    const fleet = await startFleet(redis, { WORKER_COUNT: '3', HEARTBEAT_SECONDS: '1', LOG_LEVEL: 'info' });
    try {
      await allReady(fleet);
      await sleep(1500); // the start's writes (registrations, the ready states) are done
      const beats = await countEvents(registryKeys(fleet.prefix).index, 'zadd');
      const timeBefore = (await commandCalls(redis.client)).get('time') ?? 0;
      await sleep(5000);
      const timeAfter = (await commandCalls(redis.client)).get('time') ?? 0;
      const { count, ms } = await beats.stop();
      expect(count, 'heartbeat writes of the container (one ZADD each)').toBeGreaterThanOrEqual(Math.floor(ms / 1000) - 1);
      expect(count, 'heartbeat writes of the container (one ZADD each)').toBeLessThanOrEqual(Math.floor(ms / 1000) + 1);
      expect(timeAfter - timeBefore, 'TIME calls of the container (its heartbeat script)').toBeLessThanOrEqual(Math.floor(ms / 1000) + 1);
    } finally {
      await fleet.close();
    }
  });

  it('looks for dead peers without a write while nothing expired, and sweeps once a tick for the whole fleet when something did', async () => {
    const prefix = `bouy-${randomUUID().slice(0, 8)}`;
    const env = { WORKER_COUNT: '1', HEARTBEAT_SECONDS: '1', BOUY_PREFIX: prefix, LOG_LEVEL: 'info' };
    const fleets: TestFleet[] = [];
    try {
      for (let i = 0; i < 3; i += 1) fleets.push(await startFleet(redis, { ...env, QUEUE_NAME: fleets[0]?.queueName }));
      await Promise.all(fleets.map((f) => allReady(f)));
      const keys = registryKeys(prefix);
      // At rest: no heartbeat expired, so no supervisor writes the sweep token (on main: ~8 a second of the three).
      const quiet = await countEvents(keys.sweep, 'set');
      await sleep(4000);
      expect((await quiet.stop()).count).toBe(0);
      // A dead peer's registration (expired, its host silent): one supervisor a tick judges, and it goes.
      const sweeps = await countEvents(keys.sweep, 'set');
      await redis.client.hset(keys.worker('worker-gone-1'), { name: 'worker-gone-1', pid: 1, host: 'gone', queues: fleets[0]!.queueName });
      await redis.client.zadd(keys.index, (await redis.client.time().then(([s]) => Number(s) * 1000)) - 60_000, 'worker-gone-1');
      const until = Date.now() + 5000;
      while (Date.now() < until && (await redis.client.zscore(keys.index, 'worker-gone-1')) !== null) await sleep(100);
      const { count, ms } = await sweeps.stop();
      expect(await redis.client.zscore(keys.index, 'worker-gone-1'), 'the dead peer\'s registration removed').toBeNull();
      expect(count).toBeGreaterThanOrEqual(1);
      expect(count).toBeLessThanOrEqual(Math.floor(ms / 400) + 1); // the token lives 400 ms, whoever asks
    } finally {
      await Promise.all(fleets.map((f) => f.close()));
    }
  });

  it('publishes an idle supervisor\'s fleet snapshot once a heartbeat (its keep-alive), not every second', async () => {
    const fleet = await startFleet(redis, { WORKER_COUNT: '2', HEARTBEAT_SECONDS: '3', LOG_LEVEL: 'info' });
    try {
      await allReady(fleet);
      await sleep(1500); // the start's publications (ready, leadership) are done
      const published = await countEvents(fleetKeys(fleet.prefix).snapshot(fleet.hostname), 'set');
      await sleep(6000);
      const { count: sets, ms } = await published.stop();
      // Nothing changed, so only the keep-alive: every 3 s, where it was every second (6 here).
      expect(sets).toBeGreaterThanOrEqual(1);
      expect(sets).toBeLessThanOrEqual(Math.floor(ms / 3000) + 1);
    } finally {
      await fleet.close();
    }
  });
});

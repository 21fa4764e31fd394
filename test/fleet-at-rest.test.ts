import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetKeys } from '../src/fleet/keys.js';
import { registryKeys } from '../src/registry/keys.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, startFleet, type TestFleet } from './helpers/supervisor.js';
import { sleep } from './helpers/wait.js';

/**
 * What a fleet at rest writes to Redis (issue 21, goal 4), counted by Redis itself: keyspace
 * notifications of this file's own server tell every write to a key as it happens. The bounds
 * are Redis's own: a key set with NX PX can be taken at most once per PX, however many ask.
 */
let redis: RedisServer;
let events: Redis;
beforeAll(async () => {
  redis = await startRedis();
  await redis.client.config('SET', 'notify-keyspace-events', 'K$');
  events = new Redis(redis.url);
});
afterAll(async () => {
  events?.disconnect();
  await redis?.close();
});

/** Counts the writes (SET) to `key` from now on; `stop()` returns how many there were and over how long. */
async function countSets(key: string): Promise<{ stop(): Promise<{ sets: number; ms: number }> }> {
  const channel = `__keyspace@0__:${key}`;
  let sets = 0;
  const listener = (ch: string, message: string) => { if (ch === channel && message === 'set') sets += 1; };
  events.on('message', listener);
  await events.subscribe(channel);
  const t0 = Date.now();
  return {
    async stop() {
      const ms = Date.now() - t0;
      await events.unsubscribe(channel);
      events.off('message', listener);
      return { sets, ms };
    },
  };
}

describe('a fleet at rest', () => {
  it('sweeps for dead peers once a tick for the whole fleet, not once a tick per supervisor', async () => {
    const prefix = `bouy-${randomUUID().slice(0, 8)}`;
    const env = { WORKER_COUNT: '1', HEARTBEAT_SECONDS: '1', BOUY_PREFIX: prefix, LOG_LEVEL: 'info' };
    const fleets: TestFleet[] = [];
    try {
      for (let i = 0; i < 3; i += 1) fleets.push(await startFleet(redis, { ...env, QUEUE_NAME: fleets[0]?.queueName }));
      await Promise.all(fleets.map((f) => allReady(f)));
      // HEARTBEAT_SECONDS=1: each supervisor ticks every 500 ms; the token lives 400 ms.
      const sweeps = await countSets(`${registryKeys(prefix).index}:sweep`);
      await sleep(4000);
      const { sets, ms } = await sweeps.stop();
      expect(sets).toBeLessThanOrEqual(Math.floor(ms / 400) + 1); // three supervisors would sweep ~24 times
      expect(sets).toBeGreaterThanOrEqual(Math.floor(ms / 1000)); // and the fleet still sweeps every tick or so
    } finally {
      await Promise.all(fleets.map((f) => f.close()));
    }
  });

  it('publishes an idle supervisor\'s fleet snapshot once a heartbeat (its keep-alive), not every second', async () => {
    const fleet = await startFleet(redis, { WORKER_COUNT: '2', HEARTBEAT_SECONDS: '3', LOG_LEVEL: 'info' });
    try {
      await allReady(fleet);
      await sleep(1500); // the start's publications (ready, leadership) are done
      const published = await countSets(fleetKeys(fleet.prefix).snapshot(fleet.hostname));
      await sleep(6000);
      const { sets, ms } = await published.stop();
      // Nothing changed, so only the keep-alive: every 3 s, where it was every second (6 here).
      expect(sets).toBeGreaterThanOrEqual(1);
      expect(sets).toBeLessThanOrEqual(Math.floor(ms / 3000) + 1);
    } finally {
      await fleet.close();
    }
  });
});

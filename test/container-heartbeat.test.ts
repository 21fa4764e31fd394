import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeContainerHeartbeats, type BeatingWorker } from '../src/registry/container-heartbeat.js';
import { claimHostname } from '../src/registry/hostname-claim.js';
import { registryKeys } from '../src/registry/keys.js';
import { RedisClock } from '../src/registry/redis-clock.js';
import { WorkerRegistration } from '../src/registry/worker-registration.js';
import { WriteWatch } from '../src/registry/write-watch.js';
import { callsBetween, commandCalls } from './helpers/commandstats.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const log = pino({ level: 'silent' });
const beat = (over: Partial<BeatingWorker['beat']> = {}): BeatingWorker['beat'] =>
  ({ state: 'ready', completed: 0, failed: 0, active: 0, redisDownMs: 0, at: Date.now(), ...over });

/**
 * The supervisor writes its workers' heartbeats (issue 21, goal 4): one script a heartbeat for
 * the container, registrations' fields only when they change, never a registration made again
 * from its heartbeat alone, and a worker cut off from Redis (its own connections down) ages in
 * the registry although its supervisor writes for it.
 */
describe('the container heartbeat', () => {
  it('writes every worker in one script, fields only when they change, and lets a cut-off worker age', async () => {
    const prefix = `bouy-${randomUUID().slice(0, 8)}`;
    const keys = registryKeys(prefix);
    const names = ['worker-h-1', 'worker-h-2'];
    for (const [i, name] of names.entries()) {
      await new WorkerRegistration(redis.client, prefix, { name, pid: 100 + i, host: 'h', queues: ['q'], startedAt: Date.now() }).register({ q: `bull-${i}` });
    }
    const claim = await claimHostname(redis.client, { prefix, hostname: 'h', staleAfterMs: 3000, heartbeatMs: 1000 }, log);
    const workers: BeatingWorker[] = names.map((name, i) => ({ name, pid: 100 + i, beat: beat() }));
    const lost: string[] = [];
    const clock = new RedisClock(redis.client);
    const heartbeats = writeContainerHeartbeats({
      redis: redis.client, prefix, everyMs: 60_000, workers: () => workers, clock, claim,
      writes: new WriteWatch(3000, 1000), lost: (name) => lost.push(name), log,
    });
    try {
      const written = async () => {
        for (const w of workers) w.beat = { ...w.beat, at: Date.now() }; // each worker beats every heartbeat
        const before = await commandCalls(redis.client);
        heartbeats.soon();
        // The script reads TIME once a run: a TIME more is a heartbeat written.
        await waitFor(async () => ((await commandCalls(redis.client)).get('time') ?? 0) > (before.get('time') ?? 0), 'a heartbeat written');
        return callsBetween(before, await commandCalls(redis.client));
      };
      // The first write shows each worker's state (registered as starting): one HSET each. Its
      // script is sent whole once (EVALSHA answers NOSCRIPT, then EVAL), by its SHA1 after.
      expect(Object.fromEntries(await written())).toMatchObject({ eval: 1, time: 1, zadd: 1, hset: 2, get: 1, set: 1 });
      expect(await redis.client.hget(keys.worker(names[0]!), 'state')).toBe('ready');
      // Nothing changed: no HSET, one ZADD for both.
      const quiet = Object.fromEntries(await written());
      expect(quiet).toEqual({ evalsha: 1, time: 1, zadd: 1, get: 1, set: 1 });
      expect(clock.unansweredMs()).toBeLessThan(1000); // the script's TIME keeps the clock in step

      // Worker 2's connections have been down for 20 s: its heartbeat is as old as that.
      workers[1]!.beat = beat({ redisDownMs: 20_000 });
      await written();
      const [now] = await redis.client.time();
      const [first, second] = await redis.client.zmscore(keys.index, ...names);
      expect(Number(now) * 1000 - Number(first)).toBeLessThan(2000);
      expect(Number(now) * 1000 - Number(second)).toBeGreaterThan(18_000);

      // A registration removed (a prune, FLUSHALL) is not made again from a heartbeat: its worker is asked.
      await redis.client.del(keys.worker(names[0]!));
      await redis.client.zrem(keys.index, names[0]!);
      workers[0]!.beat = beat({ completed: 5 });
      await written();
      expect(lost).toEqual([names[0]]);
      expect(await redis.client.exists(keys.worker(names[0]!))).toBe(0);
      expect(await redis.client.zscore(keys.index, names[0]!)).toBeNull();
    } finally {
      heartbeats.stop();
    }
  });
});

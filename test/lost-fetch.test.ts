import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryKeys } from '../src/registry/keys.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, withFleet } from './helpers/supervisor.js';
import { pollUntil, waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

/**
 * Chaos seed 99609 (issue 23 item 11): Redis was killed right after running a worker's fetch,
 * the reply never came, and ioredis sent the fetch again on the new connection: the first job
 * stayed active under the worker's lock with nobody running it, until the lock expired and
 * BullMQ's stall check returned it (job-299: 29.7 s stranded). After a reconnect the worker
 * returns the jobs locked by it that it does not run.
 */
describe('a fetch whose reply was lost at a reconnect', () => {
  it('is returned by the worker soon after it reconnects, not left to the lock\'s expiry and the stall check', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', WORKER_CONCURRENCY: '1', SHUTDOWN_TIMEOUT_SECONDS: '1' }, async (fleet) => {
      await allReady(fleet);
      await fleet.queue.add('busy', { gate: 'go' });
      await waitFor(async () => (await fleet.started()).length === 1, 'the worker busy with its one job');
      const bullId = await redis.client.hget(registryKeys(fleet.prefix).worker(`worker-${fleet.hostname}-1`), `bull:${fleet.queueName}`);
      expect(bullId).toBeTruthy();
      // The lost fetch: a job active under one of the worker's tokens, which the worker never got.
      const lost = await fleet.queue.add('lost', {});
      const connection = redis.client.duplicate();
      const forger = new Worker(fleet.queueName, null, { connection, autorun: false, lockDuration: 30_000 });
      expect((await forger.getNextJob(`${bullId}:999`))?.id).toBe(lost.id);
      await forger.close(true);
      connection.disconnect();
      expect(await fleet.queue.getJobState(lost.id!)).toBe('active');

      // Every connection of the fleet is cut (the test's own is spared): they reconnect.
      await redis.client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      const state = await pollUntil(() => fleet.queue.getJobState(lost.id!), (s) => s !== 'active', 10_000, 200);
      expect(state, 'the lost fetch\'s job 10 s after the reconnect (its lock lasts 30 s)').not.toBe('active');
      await fleet.open('go');
      await waitFor(async () => (await fleet.queue.getJobState(lost.id!)) === 'completed', 'the returned job to run');
    });
  }, 90_000);
});

import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callsBetween, commandCalls, sumOf } from './helpers/commandstats.js';
import { FIXTURES } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

/**
 * Redis commands per job, bouy against a plain BullMQ Worker of the same concurrency on the same
 * server (issue 21, goal 1). Redis counts them exactly (INFO commandstats, the fetch and finish
 * scripts' commands included), so this is a count, not a timing: a command that bouy adds to
 * every job adds N calls over N jobs, while what bouy's bookkeeping sends meanwhile (heartbeats,
 * the fleet snapshot) depends on the drain's seconds and stays far below N/2 of any one command.
 */
const JOBS = 1000;
const CONCURRENCY = 16;

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

/** The commands Redis ran while `start`ed consumers drained JOBS no-op jobs from a paused queue. */
async function drain(queue: Queue, consume: () => Promise<void>): Promise<Map<string, number>> {
  const completed = `bull:${queue.name}:completed`;
  let polls = 0;
  const before = await commandCalls(redis.client);
  await queue.resume();
  await consume();
  await waitFor(async () => { polls += 1; return (await redis.client.zcard(completed)) >= JOBS; }, `${JOBS} jobs completed`, 120_000);
  const calls = callsBetween(before, await commandCalls(redis.client));
  calls.set('zcard', (calls.get('zcard') ?? 0) - polls); // the test's own polling
  return calls;
}

async function pausedQueueOf(name: string): Promise<Queue> {
  const queue = new Queue(name, { connection: redis.client });
  await queue.pause();
  await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: `n${i}`, data: {} })));
  return queue;
}

describe('Redis commands per job', () => {
  it(`bouy 1 x ${CONCURRENCY} runs no Redis command per no-op job that a plain BullMQ Worker does not`, async () => {
    const plainQueue = await pausedQueueOf(`plain-${randomUUID().slice(0, 8)}`);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const worker = new Worker(plainQueue.name, async () => null, { connection, concurrency: CONCURRENCY, autorun: false });
    let plain: Map<string, number>;
    try {
      await worker.waitUntilReady();
      plain = await drain(plainQueue, async () => { void worker.run(); });
    } finally {
      await worker.close();
      connection.disconnect();
      await plainQueue.close();
    }

    const queueName = `bouy-${randomUUID().slice(0, 8)}`;
    const bouyQueue = await pausedQueueOf(queueName);
    const bouy = await withFleet(redis, {
      QUEUE_NAME: queueName, WORKER_COUNT: '1', WORKER_CONCURRENCY: String(CONCURRENCY), PROCESSOR: `${FIXTURES}/noop-processor.mjs`, LOG_LEVEL: 'info',
    }, async (fleet) => {
      await allReady(fleet);
      return drain(bouyQueue, async () => {});
    }).finally(() => bouyQueue.close());

    // Per command: none runs once more per job (an extra command per job would be +JOBS).
    const extra = [...new Set([...bouy.keys(), ...plain.keys()])]
      .map((name) => ({ name, perJob: ((bouy.get(name) ?? 0) - (plain.get(name) ?? 0)) / JOBS }))
      .filter(({ perJob }) => perJob >= 0.5);
    expect(extra).toEqual([]);
    // And in all: plain BullMQ's commands per job (24 for a no-op job), plus bookkeeping that is no job's.
    expect(sumOf(plain) / JOBS).toBeGreaterThan(20);
    expect(sumOf(bouy) / JOBS).toBeLessThan(sumOf(plain) / JOBS + 0.5);
  });
});

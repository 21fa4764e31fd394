import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, startFleet, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

describe('queue-wide limits', () => {
  it('QUEUE_GLOBAL_CONCURRENCY=2 over two supervisors x 2 workers x concurrency 4: never more than 2 jobs at once', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    const shared = `overlap-${randomUUID().slice(0, 8)}`;
    const env = {
      QUEUE_NAME: queueName, WORKER_COUNT: '2', WORKER_CONCURRENCY: '4', QUEUE_GLOBAL_CONCURRENCY: '2',
      PROCESSOR: `${FIXTURES}/overlap-processor.mjs`, TEST_SHARED_PREFIX: shared,
    };
    const a = await startFleet(redis, env);
    const b = await startFleet(redis, env);
    try {
      await Promise.all([allReady(a), allReady(b)]);
      await a.queue.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: `j${i}`, data: { ms: 120 } })));
      await completedJobs(a, 30, 60_000);
      expect(Number(await redis.client.get(`${shared}:max`))).toBe(2);
      // Both supervisors set it, the same value, and say so.
      for (const fleet of [a, b]) {
        const { body } = await fleet.health();
        expect(body.limits).toMatchObject({ global_concurrency: 2, rate_limit: null });
      }
      expect(await a.queue.getGlobalConcurrency()).toBe(2);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('QUEUE_RATE_LIMIT=10/1s over 50 jobs: takes at least 4 s and no window of the limiter holds more than 10 starts', async () => {
    const shared = `rate-${randomUUID().slice(0, 8)}`;
    await withFleet(redis, {
      WORKER_COUNT: '2', WORKER_CONCURRENCY: '8', QUEUE_RATE_LIMIT: '10/1s', PROCESSOR: `${FIXTURES}/overlap-processor.mjs`, TEST_SHARED_PREFIX: shared,
    }, async (fleet) => {
      await allReady(fleet);
      const banner = await fleet.run.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('WORKER VERIFICATION'), 'banner');
      expect(banner.msg).toContain('rateLimit');
      const enqueuedAt = Date.now();
      await fleet.queue.addBulk(Array.from({ length: 50 }, (_, i) => ({ name: `r${i}`, data: { ms: 5 } })));
      await completedJobs(fleet, 50, 60_000);
      const elapsed = Date.now() - enqueuedAt;
      // When BullMQ let each job start (processedOn, set as the fetch script passed the limiter),
      // not when the processor got round to recording it: a worker's first job waits for the
      // fixture's own Redis connection and would crowd the next second.
      const starts = (await fleet.queue.getCompleted(0, -1)).map((job) => job.processedOn!).sort((x, y) => x - y);
      expect(starts).toHaveLength(50);
      expect(elapsed).toBeGreaterThanOrEqual(4000);
      // The limiter's windows as BullMQ opens them: one begins with the first start after the
      // previous one ended (its key is set on that start and expires 1 s later). Seconds counted
      // from the first start drift off those windows, and a window that opens late in one
      // counted second splits its 10 starts across two, which read 11 once in a clean run.
      const windows: number[][] = [];
      for (const at of starts) {
        const current = windows.at(-1);
        if (current && at < current[0]! + 1000) current.push(at);
        else windows.push([at]);
      }
      expect(Math.max(...windows.map((w) => w.length))).toBeLessThanOrEqual(10);
      expect(windows.length).toBeGreaterThanOrEqual(5);
      expect(await fleet.queue.getGlobalRateLimit()).toMatchObject({ max: 10, duration: 1000 });
      expect((await fleet.health()).body.limits.rate_limit).toBe('10/1s');
    });
  });

  it('a processor\'s 429 (an error with retryAfterMs) makes the whole queue wait, and the job runs again without spending an attempt', async () => {
    const shared = `retry-${randomUUID().slice(0, 8)}`;
    await withFleet(redis, {
      WORKER_COUNT: '2', PROCESSOR: `${FIXTURES}/rate-limited-processor.mjs`, TEST_SHARED_PREFIX: shared,
    }, async (fleet) => {
      await allReady(fleet);
      const first = await fleet.queue.add('limited', { retryAfterMs: 1500 }, { attempts: 1 });
      await waitFor(async () => (await redis.client.llen(`${shared}:limited`)) === 1, 'the 429');
      const limitedAt = Number(await redis.client.lindex(`${shared}:limited`, 0));
      // The queue's limiter key, set by bouy after the processor threw: from then on nothing starts.
      const ttl = await waitFor(async () => { const ms = await redis.client.pttl(`bull:${fleet.queueName}:limiter`); return ms > 0 && ms; }, 'the queue rate-limited');
      const limitedUntil = Date.now() + ttl;
      const other = await fleet.queue.add('other', {});
      await completedJobs(fleet, 2);
      const ran = (await redis.client.lrange(`${shared}:ran`, 0, -1)).map((s) => JSON.parse(s) as { id: string; at: number });
      // The other worker was idle, yet neither job ran before the provider's retry-after passed.
      expect(ran.find((r) => r.id === first.id)!.at - limitedAt).toBeGreaterThanOrEqual(1400);
      expect(ran.find((r) => r.id === other.id)!.at).toBeGreaterThanOrEqual(limitedUntil - 100);
      const done = (await fleet.queue.getJob(first.id!))!;
      expect(done.attemptsMade).toBe(1);
      // Once the hold is over the queue is as before it: no limit for BullMQ's fetch to count jobs against.
      await waitFor(async () => (await redis.client.hexists(`bull:${fleet.queueName}:meta`, 'max')) === 0, 'the hold released');
      expect(await redis.client.hmget(`bull:${fleet.queueName}:meta`, 'max', 'duration')).toEqual([null, null]);
    });
  });

  it('a 429 also holds a supervisor that starts during the hold (its start keeps the hold), and is released after it', async () => {
    const shared = `retry-${randomUUID().slice(0, 8)}`;
    const env = { WORKER_COUNT: '1', PROCESSOR: `${FIXTURES}/rate-limited-processor.mjs`, TEST_SHARED_PREFIX: shared };
    await withFleet(redis, env, async (first) => {
      await allReady(first);
      await first.queue.add('limited', { retryAfterMs: 8000 }, { attempts: 1 });
      await waitFor(async () => (await redis.client.llen(`${shared}:limited`)) === 1, 'the 429');
      const ttl = await waitFor(async () => { const ms = await redis.client.pttl(`bull:${first.queueName}:limiter`); return ms > 0 && ms; }, 'the queue rate-limited');
      const limitedUntil = Date.now() + ttl;
      // A second container of the same queue, started while the first one's 429 holds it: its
      // workers never saw the 429, and its supervisor's start clears limits nobody configured.
      await withFleet(redis, { ...env, QUEUE_NAME: first.queueName }, async (second) => {
        await allReady(second);
        expect(Date.now()).toBeLessThan(limitedUntil); // else this test proves nothing
        const other = await first.queue.add('other', {});
        await completedJobs(first, 2, 30_000);
        const ran = (await redis.client.lrange(`${shared}:ran`, 0, -1)).map((s) => JSON.parse(s) as { id: string; at: number });
        expect(ran.find((r) => r.id === other.id)!.at).toBeGreaterThanOrEqual(limitedUntil - 100);
        await waitFor(async () => (await redis.client.hexists(`bull:${first.queueName}:meta`, 'max')) === 0, 'the hold released');
      });
    });
  });
});

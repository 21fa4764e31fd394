import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_SOCKET_TIMEOUT_MS } from '../src/redis.js';
import { workerPidsOf } from './helpers/processes.js';
import { pollUntil } from './helpers/wait.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, withFleet } from './helpers/supervisor.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

/**
 * Issue 23 item 2's backstop: a worker whose heartbeat no longer reaches Redis while its
 * supervisor's does (cut off from Redis and not recovering by itself) is replaced within a stale
 * period and a socket timeout. The worker is stopped here (SIGSTOP) with the hang watchdog off,
 * so only this backstop can notice it.
 */
describe('a worker that cannot reach Redis while its supervisor can', () => {
  it('is replaced within a stale period and a socket timeout, and the slot consumes again', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', HEARTBEAT_SECONDS: '1', WORKER_HANG_TIMEOUT_SECONDS: '0', SHUTDOWN_TIMEOUT_SECONDS: '1' }, async (fleet) => {
      await allReady(fleet);
      const [pid] = await workerPidsOf(fleet.hostname);
      expect(pid).toBeGreaterThan(0);
      process.kill(pid!, 'SIGSTOP');
      const bound = 3000 + REDIS_SOCKET_TIMEOUT_MS;
      const replaced = await pollUntil(async () => fleet.run.lines.find((l) => /^worker has not reached Redis for \d+ s/.test(String(l.msg))), (l) => l !== undefined, bound + 15_000, 250);
      expect(replaced?.pid, `no replacement ${(bound + 15_000) / 1000} s after the worker stopped reaching Redis`).toBe(pid);
      expect(replaced!.silent_s as number).toBeGreaterThanOrEqual(bound / 1000 - 1);
      await fleet.queue.add('after', {});
      await completedJobs(fleet, 1, 30_000);
    });
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_SOCKET_TIMEOUT_MS } from '../src/redis.js';
import { startBlackholeProxy, type BlackholeProxy } from './helpers/blackhole-proxy.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, startFleet, type TestFleet } from './helpers/supervisor.js';
import { pollUntil } from './helpers/wait.js';
import { registryKeys } from '../src/registry/keys.js';

let redis: RedisServer;
let proxy: BlackholeProxy;
beforeAll(async () => {
  redis = await startRedis();
  proxy = await startBlackholeProxy(redis.port);
});
afterAll(async () => {
  await proxy?.close();
  await redis?.close();
});

const LIVEZ_REDIS_SECONDS = 15;

/**
 * Issue 23 item 2: behind a path that silently drops the established connections (no RST, no
 * FIN) the fleet never consumed again, and /livez said 200 the whole time. Every connection now
 * has TCP keepalive and a socket timeout (a command unanswered that long: destroyed and
 * reconnected), and /livez fails once Redis has not answered for LIVEZ_REDIS_SECONDS.
 */
describe('a half-open Redis connection', () => {
  it('/livez fails while Redis is black-holed past LIVEZ_REDIS_SECONDS, and once the path is back the fleet consumes again by itself', async () => {
    // The supervisor and its workers reach Redis through the proxy; the test and the recordings
    // go straight to Redis.
    const fleet: TestFleet = await startFleet(redis, {
      REDIS_URL: proxy.url, WORKER_COUNT: '2', HEARTBEAT_SECONDS: '1', LIVEZ_REDIS_SECONDS: String(LIVEZ_REDIS_SECONDS), SHUTDOWN_TIMEOUT_SECONDS: '2',
    });
    try {
      await allReady(fleet);
      await fleet.queue.add('before', {});
      await completedJobs(fleet, 1);
      expect((await fleet.health('/livez')).status).toBe(200);

      proxy.blackhole({ newConnections: 'hang' });
      const dead = await pollUntil(() => fleet.health('/livez'), (r) => r.status === 503, (LIVEZ_REDIS_SECONDS + 15) * 1000, 500);
      expect(dead.status, `/livez still ${dead.status} ${LIVEZ_REDIS_SECONDS + 15} s into the black hole`).toBe(503);
      expect(dead.body.reason).toMatch(/Redis has not answered for \d+ s \(LIVEZ_REDIS_SECONDS=15\)/);

      // The path comes back for new connections only: the old ones stay black-holed for good.
      proxy.restore();
      const jobs = await fleet.queue.addBulk(Array.from({ length: 10 }, (_, i) => ({ name: 'after', data: { i } })));
      // Within a socket timeout (the stuck commands' connections are given up) and a margin.
      const bound = REDIS_SOCKET_TIMEOUT_MS + 20_000;
      const done = await pollUntil(async () => (await fleet.queue.getJobCounts('completed')).completed ?? 0, (n) => n >= 11, bound, 250);
      expect(done, `jobs completed ${bound / 1000} s after the path came back (10 enqueued then)`).toBe(11);
      for (const job of jobs) expect(await fleet.queue.getJobState(job.id!)).toBe('completed');
      const alive = await pollUntil(() => fleet.health('/livez'), (r) => r.status === 200, 10_000, 250);
      expect(alive.status).toBe(200);
    } finally {
      proxy.restore();
      await fleet.close();
    }
  }, 180_000);

  it('a worker\'s heartbeat gets through on a new connection well inside the stale period, so no peer takes its running job', async () => {
    const fleet: TestFleet = await startFleet(redis, { REDIS_URL: proxy.url, WORKER_COUNT: '1', HEARTBEAT_SECONDS: '1', SHUTDOWN_TIMEOUT_SECONDS: '2' });
    try {
      await allReady(fleet);
      await fleet.queue.add('held', { gate: 'open' });
      await pollUntil(() => fleet.started(), (runs) => runs.length === 1, 20_000);
      const index = registryKeys(fleet.prefix).index;
      const name = `worker-${fleet.hostname}-1`;
      // Old connections silent, new ones get through (a NAT that dropped its state).
      proxy.blackhole({ newConnections: 'forward' });
      let oldest = 0;
      const until = Date.now() + 8000;
      while (Date.now() < until) {
        const [[seconds, micros], score] = await Promise.all([redis.client.time(), redis.client.zscore(index, name)]);
        oldest = Math.max(oldest, Number(seconds) * 1000 + Number(micros) / 1000 - Number(score));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Stale after 3 heartbeats (3 s): the dead-peer sweep's first condition.
      expect(oldest, 'the oldest the heartbeat got while its connection was black-holed (ms)').toBeLessThan(3000);
      await fleet.open('open');
      await completedJobs(fleet, 1);
      expect((await fleet.started()).length).toBe(1);
    } finally {
      proxy.restore();
      await fleet.close();
    }
  }, 120_000);
});

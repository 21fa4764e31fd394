import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortRun } from './helpers/free-port.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, startFleet, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';
import { runEntrypoint, workerPidsOf } from './helpers/processes.js';
import { RETRY_AFTER_SECONDS } from '../src/health/health-plugin.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('the health server', () => {
  it('answers /health, /livez and /readyz over a real socket', async () => {
    await withFleet(redis, { WORKER_COUNT: '2' }, async (fleet) => {
      const live = await waitFor(() => fleet.health('/livez').catch(() => undefined), '/livez to answer');
      expect(live.status).toBe(200);
      await allReady(fleet);
      const ready = await fleet.health('/readyz');
      expect({ status: ready.status, body: ready.body }).toEqual({ status: 200, body: { ready: true, redis: true, workers_ready: 2, worker_count: 2 } });
      const { status, body } = await fleet.health();
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'healthy', worker_count: 2, queue: fleet.queueName, hostname: fleet.hostname, redis: 'ok' });
      expect(body.workers).toHaveLength(2);
      for (const worker of body.workers) {
        expect(worker).toMatchObject({ state: 'ready', restarts: 0, jobs_completed: 0, jobs_failed: 0 });
        expect(worker.pid).toBeGreaterThan(0);
        expect(worker.uptime_s).toBeGreaterThanOrEqual(0);
      }
    });
  });

  it('reports degraded while a slot restarts', async () => {
    await withFleet(redis, { WORKER_COUNT: '2', RESTART_DELAY_SECONDS: '30' }, async (fleet) => {
      await allReady(fleet);
      const { body } = await fleet.health();
      process.kill(body.workers[0].pid, 'SIGKILL');
      const degraded = await waitFor(async () => {
        const h = await fleet.health();
        return h.body.status === 'degraded' && h;
      }, 'degraded');
      expect(degraded.status).toBe(200);
      expect(degraded.body.workers[0]).toMatchObject({ state: 'restarting', pid: null, last_exit: 'signal SIGKILL' });
      const notReady = await fleet.health('/readyz');
      expect(notReady.status).toBe(503);
      expect(notReady.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
    });
  });

  it('reports unhealthy (503) while Redis is gone and healthy again when it is back', async () => {
    await withFleet(redis, { WORKER_COUNT: '1' }, async (fleet) => {
      await allReady(fleet);
      try {
        await redis.stop();
        const down = await fleet.health();
        expect(down.status).toBe(503);
        expect(down.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
        expect(down.body).toMatchObject({ status: 'unhealthy', redis: 'unreachable' });
        expect((await fleet.health('/readyz')).status).toBe(503);
        expect((await fleet.health('/livez')).status).toBe(200);
      } finally {
        // Restored whatever happened above: the other tests of this file share this Redis.
        await redis.start();
      }
      await waitFor(async () => (await fleet.health()).status === 200, 'healthy again');
    });
  });

  it('takes the next free port of the range when HEALTH_PORT is taken', async () => {
    const port = await freePortRun(3);
    const blocker = await occupy(port);
    const fleet = await startFleet(redis, { HEALTH_PORT: String(port), HEALTH_PORT_RANGE: `${port}-${port + 2}` });
    try {
      const line = await fleet.run.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('is taken; listening on'), 'fallback logged');
      expect(line.port).toBe(port + 1);
      const response = await waitFor(() => fetch(`http://127.0.0.1:${port + 1}/livez`).catch(() => undefined), 'fallback port to answer');
      expect(response.status).toBe(200);
    } finally {
      await fleet.close();
      blocker.close();
    }
  });

  it('exits 64 when no port of the range is free, leaving nothing running', async () => {
    const port = await freePortRun(2);
    const blockers = [await occupy(port), await occupy(port + 1)];
    try {
      const run = runEntrypoint(['worker'], {
        REDIS_URL: redis.url, HEALTH_HOST: '127.0.0.1', HEALTH_PORT: String(port), HEALTH_PORT_RANGE: `${port}-${port + 1}`,
        PROCESSOR: 'test/fixtures/record-processor.mjs', QUEUE_NAME: 'noport', BOUY_HOSTNAME: 'noport', WORKER_COUNT: '2',
      });
      expect((await run.exited).code).toBe(64);
      expect(run.stderr.join('\n')).toContain(`no free health port from ${port} to ${port + 1}`);
      expect(run.stdout.join('\n')).not.toContain('worker process started');
      // The two workers the entrypoint pre-forked (waiting for go) are gone with it, unregistered.
      await waitFor(async () => (await workerPidsOf('noport')).length === 0, 'the pre-forked workers to be gone', 3000).catch(() => {});
      expect(await workerPidsOf('noport')).toEqual([]);
      expect(await redis.client.zrange('bouy:workers', '0', '-1')).not.toContain('worker-noport-1');
    } finally {
      blockers.forEach((b) => b.close());
    }
  });

  it('starts no server with HEALTH_SERVER=false', async () => {
    const fleet = await startFleet(redis, { HEALTH_SERVER: 'false' });
    try {
      await allReady(fleet);
      await expect(fetch(`http://127.0.0.1:${fleet.healthPort}/livez`)).rejects.toThrow();
    } finally {
      await fleet.close();
    }
  });
});

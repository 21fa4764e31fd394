import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/errors.js';
import { ABORT_GRACE_MS } from '../src/ipc.js';
import { SHUTDOWN_WRITE_GRACE_MS } from '../src/supervisor/shutdown.js';
import { startBlackholeProxy, type BlackholeProxy } from './helpers/blackhole-proxy.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, startFleet, type TestFleet } from './helpers/supervisor.js';
import { sleep, waitFor } from './helpers/wait.js';

let redis: RedisServer;
let proxy: BlackholeProxy;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
});

/** Whether the process exited within `ms`: the exit, or undefined if it is still running. */
async function exitWithin(fleet: TestFleet, ms: number) {
  return Promise.race([fleet.run.exited, sleep(ms).then(() => undefined)]);
}

/**
 * Issue 23 item 3: SIGTERM while Redis is unreachable (a path that silently drops every packet:
 * no RST, no FIN) must still end the supervisor — every wait on Redis in a shutdown path is
 * bounded by the drain deadline — and a forced shutdown exits EXIT.forced.
 */
describe('shutdown while Redis is unreachable', () => {
  const start = async (env: Record<string, string>) => {
    proxy = await startBlackholeProxy(redis.port);
    // The supervisor and its workers reach Redis only through the proxy; the test's own
    // queue client and the recordings go straight to Redis.
    const fleet = await startFleet(redis, { REDIS_URL: proxy.url, WORKER_COUNT: '2', ...env });
    await allReady(fleet);
    await fleet.queue.add('long', { ms: 120_000 });
    await waitFor(async () => (await fleet.started()).length === 1, 'the job to start');
    proxy.blackhole({ newConnections: 'hang' });
    return fleet;
  };
  const end = async (fleet: TestFleet) => {
    fleet.run.kill('SIGKILL');
    await fleet.run.exited;
    await fleet.queue.close();
    await proxy.close();
  };

  it('SIGTERM ends the supervisor within the drain deadline + the abort and write graces, exit status forced', async () => {
    const fleet = await start({ SHUTDOWN_TIMEOUT_SECONDS: '5' });
    try {
      fleet.run.kill('SIGTERM');
      const bound = 5000 + ABORT_GRACE_MS + SHUTDOWN_WRITE_GRACE_MS;
      const exit = await exitWithin(fleet, bound + 5000);
      expect(exit, `supervisor still alive ${bound + 5000} ms after SIGTERM with Redis black-holed`).toEqual({ code: EXIT.forced, signal: null });
      expect(fleet.run.lines.some((l) => /could not return the dead worker's jobs before the shutdown deadline|shutdown deadline passed/.test(String(l.msg)))).toBe(true);
    } finally {
      await end(fleet);
    }
  });

  it('a second SIGTERM forces: the supervisor is gone within the abort and write graces', async () => {
    const fleet = await start({ SHUTDOWN_TIMEOUT_SECONDS: '300' });
    try {
      fleet.run.kill('SIGTERM');
      await fleet.run.waitForLog((l) => l.msg === 'shutting down: draining workers', 'the drain to begin');
      fleet.run.kill('SIGTERM');
      const bound = ABORT_GRACE_MS + SHUTDOWN_WRITE_GRACE_MS;
      const exit = await exitWithin(fleet, bound + 5000);
      expect(exit, `supervisor still alive ${bound + 5000} ms after a second SIGTERM with Redis black-holed`).toEqual({ code: EXIT.forced, signal: null });
    } finally {
      await end(fleet);
    }
  });
});

import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { FIXTURES } from '../helpers/processes.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { IMAGE, docker, testStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  // The image under test is this checkout's: built the way users build it.
  const stack = testStack();
  try {
    const built = await stack.run(['build', '--json'], {}, 600_000);
    expect(built.code, built.stderr).toBe(0);
  } finally {
    await stack.clean();
  }
  redis = await startRedis();
}, 660_000);
afterAll(async () => { await redis?.close(); });

/**
 * Runs bouy's image with `flags` (a real cgroup quota or limit) and `env`, on the host's network
 * so it reaches this test's Redis on loopback; `work` gets its /health reader and queue name.
 * The container is removed whatever happens.
 */
async function inContainer<T>(flags: string[], env: Record<string, string>, work: (health: () => Promise<any>, queue: string) => Promise<T>): Promise<T> {
  const name = `h20b-wc-${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const queue = `wc-${name}`;
  const settings = {
    REDIS_URL: redis.url, HEALTH_HOST: '127.0.0.1', HEALTH_PORT: String(port), HEALTH_PORT_RANGE: `${port}-${port}`,
    QUEUE_NAME: queue, BOUY_HOSTNAME: name, PROCESSOR: '/fixtures/sleep-processor.mjs', ...env,
  };
  const run = await docker([
    'run', '-d', '--name', name, '--network', 'host', ...flags,
    ...Object.entries(settings).flatMap(([key, value]) => ['-e', `${key}=${value}`]), '-v', `${FIXTURES}:/fixtures:ro`,
    IMAGE, 'worker',
  ]);
  expect(run.code, run.stderr).toBe(0);
  try {
    return await work(async () => (await fetch(`http://127.0.0.1:${port}/health`)).json(), queue);
  } finally {
    await docker(['rm', '-f', name]);
  }
}

/** WORKER_COUNT=auto under `--cpus`: /health once every worker is ready. */
const autoWorkersWith = (cpus: string) => inContainer(['--cpus', cpus], { WORKER_COUNT: 'auto' }, (health) => waitFor(async () => {
  const body = await health();
  return body.workers_ready > 0 && body.workers_ready === body.worker_count && body;
}, 'every worker ready', 60_000));

describe('WORKER_COUNT=auto in a container', () => {
  it('--cpus 1.5: /health says 2 workers, from the cgroup quota', async () => {
    const health = await autoWorkersWith('1.5');
    expect(health.worker_count).toBe(2);
    expect(health.scaling).toMatchObject({ mode: 'auto', current: 2, min: 2, max: 2 });
    expect(health.scaling.source).toMatch(/^WORKER_COUNT=auto: 1\.5 CPU\(s\) from cgroup v[12] /);
  }, 120_000);

  it('--cpus 0.5: 1 worker (the quota, not the host\'s cores)', async () => {
    const health = await autoWorkersWith('0.5');
    expect(health.worker_count).toBe(1);
    expect(health.scaling.source).toMatch(/0\.5 CPU\(s\) from cgroup/);
  }, 120_000);
});

describe('WORKER_COUNT=MIN-MAX in a container with a memory limit', () => {
  it('--memory 200m: a burst grows the pool only as far as the limit has room for, and says so', async () => {
    await inContainer(['--memory', '200m', '--memory-swap', '200m'], { WORKER_COUNT: '1-8', AUTOSCALE_INTERVAL_SECONDS: '0.5', AUTOSCALE_QUIET_SECONDS: '600' }, async (health, name) => {
      await waitFor(async () => (await health()).workers_ready === 1, 'the first worker ready', 60_000);
      const queue = new Queue(name, { connection: redis.client });
      try {
        await queue.addBulk(Array.from({ length: 40 }, () => ({ name: 'hold', data: { ms: 120_000 } })));
        // Held: every slot busy, jobs still waiting, and the memory limit the reason for stopping.
        const held = await waitFor(async () => {
          const body = await health();
          const busy = body.workers.filter((w: any) => w.state === 'ready' && w.jobs_active === 1).length;
          return busy === body.scaling.current && /memory limit .* has no room for another \d+ MiB worker/.test(body.scaling.reason) && body;
        }, 'the pool held at the memory limit', 90_000);
        expect(held.scaling.current).toBeGreaterThanOrEqual(1);
        expect(held.scaling.current).toBeLessThan(8);
        expect(held.workers.every((w: any) => w.restarts === 0)).toBe(true); // nothing OOM-killed
      } finally {
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
      }
    });
  }, 180_000);
});

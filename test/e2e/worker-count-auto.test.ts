import { randomBytes } from 'node:crypto';
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
 * Runs bouy's image with `--cpus` (a real cgroup CPU quota) and WORKER_COUNT=auto, on the
 * host's network so it reaches this test's Redis on loopback; returns /health once every
 * worker is ready.
 */
async function autoWorkersWith(cpus: string): Promise<any> {
  const name = `h20b-auto-${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const run = await docker([
    'run', '-d', '--name', name, '--network', 'host', '--cpus', cpus,
    '-e', `REDIS_URL=${redis.url}`, '-e', 'WORKER_COUNT=auto', '-e', 'HEALTH_HOST=127.0.0.1',
    '-e', `HEALTH_PORT=${port}`, '-e', `HEALTH_PORT_RANGE=${port}-${port}`, '-e', `QUEUE_NAME=auto-${name}`,
    '-e', `BOUY_HOSTNAME=${name}`, '-e', 'PROCESSOR=/fixtures/noop-processor.mjs', '-v', `${FIXTURES}:/fixtures:ro`,
    IMAGE, 'worker',
  ]);
  expect(run.code, run.stderr).toBe(0);
  try {
    return await waitFor(async () => {
      const body = await (await fetch(`http://127.0.0.1:${port}/health`)).json() as any;
      return body.workers_ready > 0 && body.workers_ready === body.worker_count && body;
    }, `the ${name} container's workers ready`, 60_000);
  } finally {
    await docker(['rm', '-f', name]);
  }
}

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

import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WAIT_FOR_GO } from '../src/ipc.js';
import { registryKeys } from '../src/registry/keys.js';
import { FIXTURES, ROOT, started, workerPidsOf, type LogLine } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

/** The bundled worker forked as the entrypoint pre-forks it (supervisor/prefork.ts): waiting for `go`. */
function forkWaiting(env: Record<string, string>): { child: ChildProcess; lines: LogLine[] } {
  const child = fork(path.join(ROOT, 'dist', 'bundle', 'worker-process.js'), [], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, BOUY_SUPERVISOR_PID: String(process.pid), [WAIT_FOR_GO]: '1', LOG_LEVEL: 'debug', ...env },
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  started.add(child);
  const lines: LogLine[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    try { lines.push(JSON.parse(line) as LogLine); } catch { /* not ours */ }
  });
  return { child, lines };
}

describe('a pre-forked worker', () => {
  it('loads its modules, then registers nothing and takes no job until the supervisor says go', async () => {
    const id = randomUUID().slice(0, 8);
    const hostname = `prefork-${id}`;
    const prefix = `bouy-${id}`;
    const queue = new Queue(`prefork-${id}`, { connection: redis.client.duplicate() });
    const { child, lines } = forkWaiting({
      REDIS_URL: redis.url, QUEUE_NAME: queue.name, PROCESSOR: path.join(FIXTURES, 'noop-processor.mjs'),
      BOUY_HOSTNAME: hostname, BOUY_PREFIX: prefix, WORKER_NAME: `worker-${hostname}-1`, WORKER_INDEX: '1',
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code))); // its lines all read
    try {
      const job = await queue.add('x', {});
      await waitFor(async () => lines.some((l) => l.msg === 'pre-forked: modules loaded, waiting for the supervisor'), 'the worker waiting');
      // Waiting: a second for a fetch or a registration to show, were it (wrongly) to happen.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await job.getState()).toBe('waiting');
      expect(await redis.client.zrange(registryKeys(prefix).index, '0', '-1')).toEqual([]);

      child.send({ type: 'go' });
      await waitFor(async () => (await job.getState()) === 'completed', 'the job to run after go');
      expect(await redis.client.zrange(registryKeys(prefix).index, '0', '-1')).toEqual([`worker-${hostname}-1`]);
      child.send({ type: 'drain' });
      expect(await exited).toBe(0);
      expect(await redis.client.zrange(registryKeys(prefix).index, '0', '-1')).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
  });

  it('told to drain before go, exits 0 having touched nothing', async () => {
    const id = randomUUID().slice(0, 8);
    const { child, lines } = forkWaiting({
      REDIS_URL: redis.url, QUEUE_NAME: `prefork-${id}`, PROCESSOR: path.join(FIXTURES, 'noop-processor.mjs'),
      BOUY_HOSTNAME: `prefork-${id}`, BOUY_PREFIX: `bouy-${id}`, WORKER_NAME: `worker-prefork-${id}-1`,
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code))); // its lines all read
    await waitFor(async () => lines.some((l) => l.msg === 'pre-forked: modules loaded, waiting for the supervisor'), 'the worker waiting');
    child.send({ type: 'drain' });
    expect(await exited).toBe(0);
    expect(lines.map((l) => l.msg)).not.toContain('registered in Redis');
    expect(await workerPidsOf(`prefork-${id}`)).toEqual([]);
  });
});

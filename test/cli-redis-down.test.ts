import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BouyResult } from './helpers/bouy.js';
import { ROOT } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

// Issue 8, item 10 (the CLI): with the Redis down, `./bouy enqueue` hung and `./bouy workers`
// exited 70 with a raw stack. Both must say which Redis (password hidden) and exit 69 promptly.
// A real redis-server, started and then stopped by this file: its port is where Redis was.

let redis: RedisServer;
let downUrl: string;
const PASSWORD = 'hunter2-do-not-print';
beforeAll(async () => {
  redis = await startRedis();
  await redis.stop();
  downUrl = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
});
afterAll(async () => { await redis?.close(); });

/**
 * Runs the built CLI (what ./bouy execs; the launcher's build-on-change stays out of the
 * timing) and measures it; a command still running after 15 s is killed and reported as code null.
 */
function timed(args: string[], url = downUrl): Promise<BouyResult & { seconds: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), ...args], {
      env: { ...process.env, NO_COLOR: '1', BOUY_REDIS_URL: url }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
    });
  });
}

describe('the CLI while its Redis is down', () => {
  it.each([
    ['enqueue', ['enqueue', 'llm', '{"prompt":"hi"}']],
    ['enqueue --wait', ['enqueue', 'llm', '{"prompt":"hi"}', '--wait']],
    ['workers', ['workers']],
    ['workers --prune', ['workers', '--prune']],
  ])('%s exits 69 within 5 s naming the Redis, password hidden, no stack trace', async (_name, args) => {
    const r = await timed(args);
    console.log(`./bouy ${args.join(' ')} with Redis down → exit ${r.code} after ${r.seconds.toFixed(2)} s`);
    expect(r.code, r.stderr).toBe(69);
    expect(r.seconds).toBeLessThan(5);
    expect(r.stderr).toContain(`Redis is not reachable at redis://:***@127.0.0.1:${redis.port}`);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.stderr + r.stdout).not.toContain(PASSWORD);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('the CLI when its Redis goes away mid-command', () => {
  it('enqueue --wait exits 69 within 5 s of Redis stopping, instead of polling a dead connection', async () => {
    const live = await startRedis();
    try {
      const queueName = `down-${process.pid}`;
      const running = timed(['enqueue', queueName, '{"prompt":"hi"}', '--wait', '--wait-timeout', '60'], live.url);
      // No worker consumes this queue: the command is polling once its job is there.
      const { waitFor } = await import('./helpers/wait.js');
      await waitFor(async () => (await live.client.llen(`bull:${queueName}:wait`)) === 1, 'the job to be enqueued');
      const stopped = Date.now();
      await live.stop();
      const r = await running;
      const afterStop = (Date.now() - stopped) / 1000;
      console.log(`./bouy enqueue --wait, Redis stopped mid-wait → exit ${r.code} ${afterStop.toFixed(2)} s after the stop`);
      expect(r.code, r.stderr).toBe(69);
      expect(afterStop).toBeLessThan(5);
      expect(r.stderr).toContain(`Redis is not reachable at redis://127.0.0.1:${live.port}`);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    } finally {
      await live.close();
    }
  });
});

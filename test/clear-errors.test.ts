import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bouy } from './helpers/bouy.js';
import { FIXTURES, runEntrypoint } from './helpers/processes.js';
import { parsePrometheus } from './helpers/prometheus.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, startFleet, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

// Issue 8, item 13: errors that said the wrong thing, or counted the wrong thing.
let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

describe('a Redis that refuses the password', () => {
  const PASSWORD = 'right-password-not-this-one';
  let guarded: RedisServer;
  beforeAll(async () => {
    guarded = await startRedis();
    // The helper's own connection is already authenticated; new ones need the password.
    await guarded.client.config('SET', 'requirepass', 'the-real-one');
  });
  afterAll(async () => {
    await guarded?.client.config('SET', 'requirepass', '').catch(() => {});
    await guarded?.close();
  });

  it('the worker exits 69 saying the credentials were refused, not that Redis is missing', async () => {
    const run = runEntrypoint(['worker'], { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${guarded.port}`, HEALTH_SERVER: 'false' });
    expect((await run.exited).code).toBe(69);
    const err = run.stderr.join('\n');
    expect(err).toContain(`Redis at redis://:***@127.0.0.1:${guarded.port} refused the credentials`);
    expect(err).toMatch(/WRONGPASS|NOAUTH/);
    expect(err).toContain('hint: check the password');
    expect(err).not.toContain('not reachable');
    expect(err + run.stdout.join('\n')).not.toContain(PASSWORD);
  });

  it('so does the CLI', async () => {
    const r = await bouy(['workers'], { BOUY_REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${guarded.port}` });
    expect(r.code, r.stderr).toBe(69);
    expect(r.stderr).toContain('refused the credentials');
    expect(r.stderr + r.stdout).not.toContain(PASSWORD);
  });
});

describe('what the supervisor counts and logs', () => {
  it('a result BullMQ cannot store is counted failed, as BullMQ recorded it, not completed', async () => {
    await withFleet(redis, { PROCESSOR: `${FIXTURES}/circular-processor.mjs`, LOG_LEVEL: 'info' }, async (fleet) => {
      await allReady(fleet);
      const job = await fleet.queue.add('circular', {});
      await waitFor(async () => (await job.getState()) === 'failed', 'BullMQ to fail the job');
      await waitFor(async () => (await fleet.health()).body.workers[0].jobs_failed === 1, '/health to count it');
      const { body } = await fleet.health();
      expect(body.workers[0]).toMatchObject({ jobs_completed: 0, jobs_failed: 1 });
      expect(body.jobs_by_name.circular).toMatchObject({ completed: 0, failed: 1 });
      const { samples } = parsePrometheus(await (await fetch(`http://127.0.0.1:${fleet.healthPort}/metrics`)).text());
      const outcome = (o: string) => samples.filter((m) => m.name === 'bouy_jobs_total' && m.labels.outcome === o).reduce((sum, m) => sum + m.value, 0);
      expect(outcome('failed')).toBe(1);
      expect(outcome('completed')).toBe(0);
      expect(fleet.run.lines.some((l) => l.msg?.includes('BullMQ could not store the result'))).toBe(true);
    });
  });

  it('imports the PROCESSOR once per worker, never in the supervisor', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-import-'));
    const log = path.join(dir, 'imports');
    const fleet = await startFleet(redis, { PROCESSOR: `${FIXTURES}/import-side-effect-processor.mjs`, IMPORT_LOG: log, WORKER_COUNT: '3' });
    try {
      await allReady(fleet);
      const pids = readFileSync(log, 'utf8').trim().split('\n').map(Number);
      const workers = (await fleet.health()).body.workers.map((w: { pid: number }) => w.pid);
      expect(pids.sort()).toEqual([...workers].sort());
      expect(pids).not.toContain(fleet.run.pid);
    } finally {
      await fleet.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a processor that fails to import stops the start with exit 64 and the module\'s error', async () => {
    const run = runEntrypoint(['worker'], { REDIS_URL: redis.url, PROCESSOR: `${FIXTURES}/not-a-function.mjs`, HEALTH_SERVER: 'false', WORKER_COUNT: '2', BOUY_HOSTNAME: 'import-fails' });
    expect((await run.exited).code).toBe(64);
    expect(run.stderr.join('\n')).toContain('does not export a function as default (got number)');
  });

  it('logs one JSON object per line while Redis is away, never a multi-line stack', async () => {
    const own = await startRedis();
    const fleet = await startFleet(own, { WORKER_COUNT: '2', LOG_LEVEL: 'debug' });
    try {
      await allReady(fleet);
      const from = fleet.run.stdout.length;
      const errFrom = fleet.run.stderr.length;
      await own.stop();
      await waitFor(() => fleet.run.lines.filter((l) => /connection error|heartbeat failed/.test(String(l.msg))).length >= 4, 'errors logged while Redis is away', 30_000);
      await own.start();
      await allReady(fleet);
      const stdout = fleet.run.stdout.slice(from);
      const notJson = stdout.filter((line) => { try { JSON.parse(line); return false; } catch { return true; } });
      expect(notJson).toEqual([]);
      expect(fleet.run.stderr.slice(errFrom).filter((l) => /^\s+at /.test(l))).toEqual([]);
    } finally {
      await fleet.close();
      await own.close();
    }
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runEntrypoint } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, withFleet, type TestFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const LIFECYCLE = `${FIXTURES}/lifecycle-processor.mjs`;
const checkFile = (content: string) => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bouy-check-')), 'credentials');
  writeFileSync(file, content);
  return file;
};
const records = async (fleet: TestFleet, key: string) => (await redis.client.lrange(`${fleet.recordPrefix}:${key}`, 0, -1)).map((s) => JSON.parse(s) as { pid: number; at: number });
const checkMetric = async (fleet: TestFleet) => {
  const text = await (await fetch(`http://127.0.0.1:${fleet.healthPort}/metrics`)).text();
  return /^bouy_processor_check_ok\{[^}]*\} (\d)$/m.exec(text)?.[1];
};

describe('processor check()', () => {
  it('a failing check stops the start: exit 69 with its detail and hint', async () => {
    const file = checkFile('nothing');
    const run = runEntrypoint(['worker'], {
      REDIS_URL: redis.url, PROCESSOR: LIFECYCLE, TEST_CHECK_FILE: file, HEALTH_SERVER: 'false', WORKER_COUNT: '2', BOUY_HOSTNAME: 'check-fails',
    });
    expect((await run.exited).code).toBe(69);
    const stderr = run.stderr.join('\n');
    expect(stderr).toContain(`the processor check for queue "llm" failed: no credentials in ${file}`);
    expect(stderr).toContain(`hint: write ok into ${file}`);
  });

  it('the built-in llm processor without LLM_API_KEY exits 69 and says to set it', async () => {
    const run = runEntrypoint(['worker'], { REDIS_URL: redis.url, HEALTH_SERVER: 'false', BOUY_HOSTNAME: 'llm-no-key', LLM_API_KEY: '' });
    expect((await run.exited).code).toBe(69);
    expect(run.stderr.join('\n')).toContain('LLM_API_KEY is not set');
    expect(run.stderr.join('\n')).toContain('hint: set LLM_API_KEY');
  });

  it('PROCESSOR_CHECK=warn starts degraded with the reason; once the check passes again, healthy', async () => {
    const file = checkFile('nothing');
    await withFleet(redis, { PROCESSOR: LIFECYCLE, TEST_CHECK_FILE: file, PROCESSOR_CHECK: 'warn', PROCESSOR_CHECK_SECONDS: '0.5', WORKER_COUNT: '2' }, async (fleet) => {
      await allReady(fleet);
      const degraded = await fleet.health();
      expect(degraded.status).toBe(200);
      expect(degraded.body.status).toBe('degraded');
      expect(degraded.body.reasons.join('\n')).toContain(`queue ${fleet.queueName}: processor check failing: no credentials in ${file}`);
      expect(degraded.body.processor[fleet.queueName]).toMatchObject({ ok: false, detail: `no credentials in ${file}`, workers_failing: 2 });
      expect(await checkMetric(fleet)).toBe('0');
      // Jobs still run: warn means start anyway.
      const job = await fleet.queue.add('anyway', { ms: 1 });
      await completedJobs(fleet, 1);
      expect((await fleet.finished()).map((r) => r.id)).toContain(job.id);

      writeFileSync(file, 'ok');
      const healthy = await waitFor(async () => { const h = await fleet.health(); return h.body.status === 'healthy' && h; }, 'healthy after the check recovers');
      expect(healthy.body.processor[fleet.queueName]).toMatchObject({ ok: true, detail: 'credentials accepted', workers_failing: 0 });
      expect(Date.parse(healthy.body.processor[fleet.queueName].checked_at)).toBeGreaterThan(Date.now() - 5000);
      expect(await checkMetric(fleet)).toBe('1');
      expect(fleet.run.lines.some((l) => l.msg === 'processor check passes again')).toBe(true);
    });
  });
});

describe('processor setup() and teardown()', () => {
  it('setup runs once per worker process (across recycles), teardown after each process\'s last job', async () => {
    await withFleet(redis, { PROCESSOR: LIFECYCLE, WORKER_COUNT: '1', MAX_JOBS_PER_WORKER: '3' }, async (fleet) => {
      await allReady(fleet);
      await fleet.queue.addBulk(Array.from({ length: 7 }, (_, i) => ({ name: `j${i}`, data: { ms: 20 } })));
      await completedJobs(fleet, 7);
      // 7 jobs at 3 per process (a fourth may come with the third's completion): recycled at
      // least twice, every process set up once, the current one included.
      const recycles = await waitFor(async () => {
        const { body } = await fleet.health();
        const n = body.workers[0].recycles['max-jobs'] ?? 0;
        return n >= 2 && body.workers[0].state === 'ready' && (await records(fleet, 'setup')).length === n + 1 && n;
      }, 'recycles settled, one set-up per process');
      const setups = await records(fleet, 'setup');
      const finished = (await fleet.finished()) as unknown as { id: string; at: number }[];
      const completed = await fleet.queue.getCompleted(0, -1);
      const pidOf = new Map(completed.map((job) => [job.id, (job.returnvalue as { pid: number }).pid]));
      const pids = [...new Set(setups.map((s) => s.pid))];
      expect(pids).toHaveLength(recycles + 1);
      for (const pid of pidOf.values()) expect(pids).toContain(pid);
      const teardowns = await records(fleet, 'teardown');
      // The two recycled processes tore down, each after its own last job finished.
      expect(teardowns.map((t) => t.pid).sort()).toEqual(pids.slice(0, recycles).sort());
      for (const teardown of teardowns) {
        const lastJob = Math.max(...finished.filter((f) => pidOf.get(f.id) === teardown.pid).map((f) => f.at));
        expect(teardown.at).toBeGreaterThanOrEqual(lastJob);
      }
      await fleet.close();
      // The last one tears down on shutdown.
      expect((await records(fleet, 'teardown')).map((t) => t.pid).sort()).toEqual([...pids].sort());
    });
  });
});

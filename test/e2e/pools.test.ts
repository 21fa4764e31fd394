import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../src/cli/docker.js';
import type { HealthReport } from '../../src/cli/health-probe.js';
import { json } from '../helpers/bouy.js';
import { testStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

// Worker pools on a real stack (issue 20, item 6): `emails` (slow jobs, a long backlog) and
// `thumbnails` (fast jobs) each get a worker service of their own, so a busy emails queue no
// longer holds thumbnails at 0 for its whole drain, as one worker taking both in strict order did.
// Compose v1 (1.29) only: no Compose v2 on these machines.
const stack = testStack();
const EMAILS_JOBS = 20;
const EMAIL_MS = 2000;
const THUMBNAILS_JOBS = 30;
let redis: Redis;
let emails: Queue;
let thumbnails: Queue;

beforeAll(async () => {
  // Pools are declared in this stack's own file (BOUY_POOLS_FILE, read from its .env like every
  // setting), never in the checkout's compose/; every job runs the built-in llm example.
  appendFileSync(stack.envFile, `BOUY_POOLS_FILE=${path.join(path.dirname(stack.envFile), 'pools.yml')}\nPROCESSOR=/app/dist/processors/llm.js\nQUEUE_NAME=emails,thumbnails\n`);
  const built = await stack.run(['build'], {}, 600_000);
  expect(built.code, built.stderr).toBe(0);
}, 660_000);

afterAll(async () => {
  await emails?.close();
  await thumbnails?.close();
  redis?.disconnect();
  await stack.clean();
});

describe('worker pools through ./bouy', () => {
  it('bouy pool add declares two pools, each on its own health ports', async () => {
    for (const [name, workers] of [['emails', '1'], ['thumbnails', '1']] as const) {
      const r = await stack.run(['pool', 'add', name, '--queues', name, '--workers', workers, '--json']);
      expect(r.code, r.stderr).toBe(0);
    }
    const ls = json<{ pools: Array<{ service: string; queues: string[]; health_ports: string }> }>(await stack.run(['pool', 'ls', '--json']));
    expect(ls.pools).toEqual([
      expect.objectContaining({ service: 'worker-emails', queues: ['emails'], health_ports: '8090-8099' }),
      expect.objectContaining({ service: 'worker-thumbnails', queues: ['thumbnails'], health_ports: '8100-8109' }),
    ]);
  });

  it('./bouy up worker-emails worker-thumbnails, then ./bouy scale worker-thumbnails=2', async () => {
    const up = await stack.run(['up', 'worker-emails', 'worker-thumbnails', '--json'], {}, 240_000);
    expect(up.code, up.stderr).toBe(0);
    const started = json<{ health: HealthReport[] }>(up).health;
    expect(started.map((h) => [h.service, h.port, h.status]).sort()).toEqual([['worker-emails', 8090, 'healthy'], ['worker-thumbnails', 8100, 'healthy']]);

    const scaled = await stack.run(['scale', 'worker-thumbnails=2', '--json'], {}, 240_000);
    expect(scaled.code, scaled.stderr).toBe(0);
    const containers = json<{ containers: ContainerInfo[] }>(await stack.run(['ps', '--json'])).containers;
    const ports = (service: string) => containers.filter((c) => c.service === service).map((c) => c.ports['8080/tcp']).sort();
    expect(ports('worker-thumbnails')).toEqual([8100, 8101]);
    // The other pool was left as it was.
    expect(ports('worker-emails')).toEqual([8090]);
    expect(containers.some((c) => c.service === 'worker')).toBe(false);

    redis = new Redis(await stack.redisUrl(), { maxRetriesPerRequest: null });
    emails = new Queue('emails', { connection: redis, prefix: 'bull' });
    thumbnails = new Queue('thumbnails', { connection: redis, prefix: 'bull' });
  });

  it('thumbnails jobs all complete while emails still has a long backlog', async () => {
    await emails.addBulk(Array.from({ length: EMAILS_JOBS }, (_, i) => ({ name: 'email', data: { prompt: `email-${i}`, latency_ms: EMAIL_MS } })));
    const started = Date.now();
    const added = await thumbnails.addBulk(Array.from({ length: THUMBNAILS_JOBS }, (_, i) => ({ name: 'thumb', data: { prompt: `thumb-${i}`, latency_ms: 20 } })));
    await waitFor(async () => (await thumbnails.getJobCounts('completed')).completed === THUMBNAILS_JOBS, 'every thumbnails job completed', 60_000);
    // The moment thumbnails is drained, emails is not: its one worker has most of the backlog
    // ahead of it (20 × 2 s). With one worker service taking `emails,thumbnails` in strict
    // order, no thumbnails job would have started before this backlog was gone.
    const left = await emails.getJobCounts('waiting', 'active');
    console.log(`${THUMBNAILS_JOBS} thumbnails drained in ${((Date.now() - started) / 1000).toFixed(1)} s; emails then had ${left.waiting} waiting, ${left.active} active of ${EMAILS_JOBS}`);
    expect((left.waiting ?? 0) + (left.active ?? 0)).toBeGreaterThan(EMAILS_JOBS / 2);
    // Every thumbnails job was run by a thumbnails container (worker-<container id>-<i>).
    const ids = (await stack.containers()).filter((c) => c.service === 'worker-thumbnails').map((c) => c.id);
    const runners = await Promise.all(added.map(async (j) => (await thumbnails.getJob(j.id!))?.processedBy ?? ''));
    expect(runners.every((name) => ids.some((id) => name.startsWith(`worker-${id}-`)))).toBe(true);
  });

  it('./bouy health lists both pools, every container healthy', async () => {
    const r = await stack.run(['health', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const reports = json<HealthReport[]>(r);
    expect(reports.map((h) => h.service).sort()).toEqual(['worker-emails', 'worker-thumbnails', 'worker-thumbnails']);
    expect(reports.every((h) => h.status === 'healthy')).toBe(true);
    const table = await stack.run(['health']);
    expect(table.stdout).toMatch(/SERVICE/);
    expect(table.stdout).toMatch(/worker-emails/);
  });
});

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { ENTRYPOINT, FIXTURES, ROOT, runEntrypoint, stopProcess, type Running } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

async function startService(service: string, portVar: string, env: Record<string, string> = {}): Promise<{ run: Running; url: string }> {
  const port = await freePort();
  const run = runEntrypoint([service], { REDIS_URL: redis.url, HEALTH_HOST: '127.0.0.1', [portVar]: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(() => fetch(`${url}/livez`).then((r) => r.ok, () => false), `${service} to answer`);
  return { run, url };
}

describe('the bundle the image runs', () => {
  // The supervisor finds its worker beside its own code (worker/worker-entry.ts): in the bundle
  // that is dist/bundle/worker-process.js. A path written for tsc's layout would fork the
  // unbundled worker instead, which works but starts at half the speed.
  it('forks the bundled worker, not tsc\'s', async () => {
    expect(ENTRYPOINT).toBe(path.join(ROOT, 'dist', 'bundle', 'entrypoint.js'));
    const queue = `bundle-${randomUUID().slice(0, 8)}`;
    const { run, url } = await startService('worker', 'HEALTH_PORT', {
      WORKER_COUNT: '1', QUEUE_NAME: queue, PROCESSOR: path.join(FIXTURES, 'noop-processor.mjs'), HEALTH_PORT_RANGE: '1024-65535',
    });
    try {
      await waitFor(() => fetch(`${url}/readyz`).then((r) => r.status === 200, () => false), 'the worker to be ready');
      const health = (await (await fetch(`${url}/health`)).json()) as { workers: Array<{ pid: number | null }> };
      const pid = health.workers[0]?.pid;
      expect(pid).toBeTypeOf('number');
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(argv.at(-1)).toBe(path.join(ROOT, 'dist', 'bundle', 'worker-process.js'));
    } finally {
      await stopProcess(run);
    }
    expect((await run.exited).code).toBe(0);
  });
});

describe('the dashboard service', () => {
  it('serves bull-board over the configured queues', async () => {
    const queue = `dash-${randomUUID().slice(0, 8)}`;
    const { run, url } = await startService('dashboard', 'DASHBOARD_PORT', { QUEUE_NAME: queue });
    try {
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      const api = (await (await fetch(`${url}/api/queues`)).json()) as { queues: Array<{ name: string }> };
      expect(api.queues.map((q) => q.name)).toEqual([queue]);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    } finally {
      await stopProcess(run);
    }
    expect((await run.exited).code).toBe(0);
  });
});

describe('the api service', () => {
  it('enqueues jobs, reports their state, and rejects bad requests with a reason', async () => {
    const queue = `api-${randomUUID().slice(0, 8)}`;
    const { run, url } = await startService('api', 'API_PORT', { QUEUE_NAME: queue });
    const post = (path: string, body: string) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    try {
      const created = await post(`/jobs/${queue}`, JSON.stringify({ name: 'summarise', data: { prompt: 'hi' } }));
      expect(created.status).toBe(202);
      const { id } = (await created.json()) as { id: string };
      const state = (await (await fetch(`${url}/jobs/${queue}/${id}`)).json()) as Record<string, unknown>;
      expect(state).toMatchObject({ id, queue, name: 'summarise', state: 'waiting' });

      const missing = await post(`/jobs/${queue}`, JSON.stringify({ name: 'x' }));
      expect(missing.status).toBe(400);
      expect(((await missing.json()) as { message: string }).message).toContain("must have required property 'data'");
      const notObject = await post(`/jobs/${queue}`, JSON.stringify({ data: 'text' }));
      expect(notObject.status).toBe(400);
      expect(((await notObject.json()) as { message: string }).message).toContain('body.data must be object');
      const badJson = await post(`/jobs/${queue}`, '{"data":');
      expect(badJson.status).toBe(400);
      const tooBig = await post(`/jobs/${queue}`, JSON.stringify({ data: { blob: 'x'.repeat(1_100_000) } }));
      expect(tooBig.status).toBe(413);
      const unknown = await post('/jobs/nope', JSON.stringify({ data: {} }));
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { message: string }).message).toBe(`queue "nope" is not served here; queues: ${queue}`);
      expect((await fetch(`${url}/jobs/${queue}/does-not-exist`)).status).toBe(404);
    } finally {
      await stopProcess(run);
    }
  });

  it('exits 64 on a bad API_PORT', async () => {
    const run = runEntrypoint(['api'], { REDIS_URL: redis.url, API_PORT: 'eighty' });
    expect((await run.exited).code).toBe(64);
    expect(run.stderr.join('\n')).toContain('API_PORT="eighty" is not valid: a whole number from 1 to 65535');
  });
});

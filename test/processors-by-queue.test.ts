/**
 * One processor per queue, found by name: `<queue>.ts|.mjs|.js` in PROCESSORS_DIR, else in
 * `processors/` of the working directory (an application's), else bouy's built-in ones; PROCESSOR
 * stays the one module for every queue. Real supervisors against a real Redis.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processorsDirectory, BUILT_IN_PROCESSORS_DIR } from '../src/worker/load-processor.js';
import { FIXTURES, ROOT, runEntrypoint } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, startFleet, type TestFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
const dirs: string[] = [];
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => {
  await redis?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** An application's folder with `processors/` holding `files` (name → source). */
function app(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bouy-app-'));
  dirs.push(root);
  mkdirSync(path.join(root, 'processors'));
  // ES modules whatever the app's package.json says (as `bouy init` writes it).
  writeFileSync(path.join(root, 'processors', 'package.json'), '{ "type": "module" }\n');
  for (const [name, source] of Object.entries(files)) writeFileSync(path.join(root, 'processors', name), source);
  return root;
}

/** A module that answers with its own name and the queue its setup(ctx) was given. */
const answering = (name: string) => `
let setUpFor;
export function setup(ctx) { setUpFor = ctx.queue; }
export function describe() { return { module: ${JSON.stringify(name)} }; }
export default async function (job) { return { module: ${JSON.stringify(name)}, queue: job.queueName, setUpFor }; }
`;

async function resultOf(queueName: string, data: object = {}): Promise<unknown> {
  const queue = new Queue(queueName, { connection: redis.client });
  try {
    const job = await queue.add('t', data);
    return await waitFor(async () => (await Job.fromId(queue, job.id!))?.returnvalue ?? undefined, `a result on ${queueName}`, 30_000);
  } finally {
    await queue.close();
  }
}

async function withAppFleet<T>(env: Record<string, string | undefined>, cwd: string | undefined, work: (fleet: TestFleet) => Promise<T>): Promise<T> {
  const fleet = await startFleet(redis, { PROCESSOR: undefined, WORKER_COUNT: '1', ...env }, cwd === undefined ? {} : { cwd });
  try {
    await allReady(fleet);
    return await work(fleet);
  } finally {
    await fleet.close();
  }
}

/** A supervisor that must refuse to start: its exit status and stderr. */
async function refused(env: Record<string, string | undefined>, cwd?: string): Promise<{ code: number | null; stderr: string }> {
  const run = runEntrypoint(['worker'], { REDIS_URL: 'redis://127.0.0.1:1', HEALTH_SERVER: 'false', ...env }, cwd === undefined ? {} : { cwd });
  const { code } = await run.exited;
  return { code, stderr: run.stderr.join('\n') };
}

describe('one processor per queue', () => {
  it('runs each queue\'s own module from processors/ in the working directory, in one worker process, setup() and describe() of each honoured', async () => {
    const id = randomUUID().slice(0, 8);
    const [emails, thumbnails] = [`emails-${id}`, `thumbnails-${id}`];
    const root = app({ [`${emails}.mjs`]: answering('emails'), [`${thumbnails}.js`]: answering('thumbnails') });
    await withAppFleet({ QUEUE_NAME: `${emails},${thumbnails}` }, root, async (fleet) => {
      expect(await resultOf(emails)).toEqual({ module: 'emails', queue: emails, setUpFor: emails });
      expect(await resultOf(thumbnails)).toEqual({ module: 'thumbnails', queue: thumbnails, setUpFor: thumbnails });
      // Said at start: which file runs each queue.
      expect(fleet.run.lines.find((l) => l.msg === 'pre-flight passed')?.processors).toEqual({
        [emails]: path.join(root, 'processors', `${emails}.mjs`), [thumbnails]: path.join(root, 'processors', `${thumbnails}.js`),
      });
      const ready = fleet.run.lines.find((l) => l.msg === 'worker ready') as { settings: Record<string, unknown> } | undefined;
      expect(ready?.settings).toMatchObject({ [`processor:${emails}`]: { module: 'emails' }, [`processor:${thumbnails}`]: { module: 'thumbnails' } });
    });
  });

  it('PROCESSORS_DIR names the folder; PROCESSOR still wins over the module found there', async () => {
    const id = randomUUID().slice(0, 8);
    const queue = `own-${id}`;
    const root = app({ [`${queue}.mjs`]: answering('own') });
    const dir = path.join(root, 'processors');
    // From this checkout's folder (no processors/ here): only PROCESSORS_DIR leads to the module.
    await withAppFleet({ QUEUE_NAME: queue, PROCESSORS_DIR: dir }, undefined, async () => {
      expect(await resultOf(queue)).toMatchObject({ module: 'own' });
    });
    await withAppFleet({ QUEUE_NAME: queue, PROCESSORS_DIR: dir, PROCESSOR: `${FIXTURES}/record-processor.mjs` }, root, async (fleet) => {
      expect(await resultOf(queue)).toEqual({ worker: expect.stringContaining(fleet.hostname) });
    });
  });

  it('a recycle (SIGHUP, `bouy recycle`) loads an edited processor afresh in each new worker: the dev overlay\'s reload', async () => {
    const id = randomUUID().slice(0, 8);
    const queue = `edit-${id}`;
    const root = app({ [`${queue}.mjs`]: answering('first') });
    await withAppFleet({ QUEUE_NAME: queue, WORKER_COUNT: '2' }, root, async (fleet) => {
      expect(await resultOf(queue)).toMatchObject({ module: 'first' });
      writeFileSync(path.join(root, 'processors', `${queue}.mjs`), answering('edited'));
      const readyBefore = fleet.run.lines.filter((l) => l.msg === 'worker ready').length;
      fleet.run.kill('SIGHUP');
      await waitFor(() => fleet.run.lines.filter((l) => l.msg === 'worker ready').length >= readyBefore + 2, 'both workers replaced', 30_000);
      for (let i = 0; i < 4; i++) expect(await resultOf(queue)).toMatchObject({ module: 'edited' });
    });
  });

  it('a queue with no module stops the start, exit 64, naming the queue and every path looked at', async () => {
    const root = app({ 'other.mjs': answering('other') });
    const { code, stderr } = await refused({ QUEUE_NAME: 'other,missing' }, root);
    expect(code).toBe(64);
    const dir = path.join(root, 'processors');
    expect(stderr).toContain(`no processor for queue "missing": none of ${dir}/missing.ts, ${dir}/missing.mjs, ${dir}/missing.js exists (from processors/ in the working directory ${root})`);
    expect(stderr).toContain('hint: add processors/missing.ts');
  });

  it('without PROCESSORS_DIR nor processors/ in the working directory: bouy\'s built-in processors, and the error says so', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'bouy-empty-'));
    dirs.push(empty);
    const { code, stderr } = await refused({ QUEUE_NAME: 'nothing-here' }, empty);
    expect(code).toBe(64);
    expect(stderr).toContain(`none of ${path.join(ROOT, 'dist', 'processors')}/nothing-here.ts`);
    expect(stderr).toContain(`(from bouy's built-in processors (PROCESSORS_DIR unset, no processors/ folder in ${empty}))`);
  });

  it('PROCESSORS_DIR that is not a folder, or two modules for one queue: exit 64 saying which', async () => {
    const root = app({ 'twice.mjs': answering('a'), 'twice.js': answering('b') });
    const notThere = await refused({ QUEUE_NAME: 'twice', PROCESSORS_DIR: path.join(root, 'nope') });
    expect(notThere.code).toBe(64);
    expect(notThere.stderr).toContain(`PROCESSORS_DIR=${JSON.stringify(path.join(root, 'nope'))} is not a folder`);
    const twice = await refused({ QUEUE_NAME: 'twice' }, root);
    expect(twice.code).toBe(64);
    expect(twice.stderr).toContain(`the processor for queue "twice" is ambiguous: ${root}/processors/twice.mjs and ${root}/processors/twice.js both exist`);
  });

  it('a module read as CommonJS (the app\'s "type": "commonjs") stops the start, exit 64, saying to make processors/ ES modules', async () => {
    const id = randomUUID().slice(0, 8);
    const queue = `cjs-${id}`;
    const root = app({ [`${queue}.js`]: answering('cjs'), 'package.json': '{ "type": "commonjs" }\n' });
    const run = runEntrypoint(['worker'], { REDIS_URL: redis.url, QUEUE_NAME: queue, HEALTH_SERVER: 'false', BOUY_HOSTNAME: `cjs-${id}` }, { cwd: root });
    expect((await run.exited).code).toBe(64);
    const stderr = run.stderr.join('\n');
    expect(stderr).toContain(`the processor for queue "${queue}" (${root}/processors/${queue}.js) failed to load`);
    expect(stderr).toContain(`hint: Node read ${queue}.js as CommonJS: put a package.json with { "type": "module" } in ${root}/processors (bouy init writes one), or name it .mjs`);
  });

  it('a TypeScript processor runs as is where Node strips types; elsewhere exit 64 naming the file, the Node version and what to do', async () => {
    const id = randomUUID().slice(0, 8);
    const queue = `typed-${id}`;
    const root = app({
      [`${queue}.ts`]: `import type { Job } from 'bullmq';\nexport default async function (job: Job<{ n: number }>): Promise<{ doubled: number }> { return { doubled: job.data.n * 2 }; }\n`,
    });
    const file = path.join(root, 'processors', `${queue}.ts`);
    if ((process.features as { typescript?: unknown }).typescript) {
      await withAppFleet({ QUEUE_NAME: queue }, root, async () => {
        expect(await resultOf(queue, { n: 21 })).toEqual({ doubled: 42 });
      });
    } else {
      const { code, stderr } = await refused({ QUEUE_NAME: queue }, root);
      expect(code).toBe(64);
      expect(stderr).toContain(`the processor for queue "${queue}" (${file}) is TypeScript and Node ${process.version} cannot run TypeScript as is`);
      expect(stderr).toContain('hint: run on Node 22.18+ / 23.6+ (the image has Node 24), or compile the processor to a .js/.mjs module');
    }
  });
});

describe('processorsDirectory', () => {
  it('PROCESSORS_DIR resolves against the working directory; processors/ there is next; bouy\'s own last', () => {
    const root = app({});
    expect(processorsDirectory('processors', root).dir).toBe(path.join(root, 'processors'));
    expect(processorsDirectory(undefined, root).dir).toBe(path.join(root, 'processors'));
    expect(processorsDirectory(undefined, os.tmpdir() + '/does-not-exist').dir).toBe(BUILT_IN_PROCESSORS_DIR);
  });
});

import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../src/cli/docker.js';
import type { HealthReport } from '../../src/cli/health-probe.js';
import { capture } from '../../src/cli/process.js';
import { json, runCommand, type BouyResult } from '../helpers/bouy.js';
import { ROOT } from '../helpers/processes.js';
import { docker } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

// Issue 19's "done when": a team's own application, from an empty folder, exactly as the
// README's "Use bouy in your application" says — the package from `npm pack`, `npm install` of
// it plus one npm dependency the processors import, `npx bouy init`, two TypeScript processors
// (one per queue), `npx bouy up worker`, each queue's result back through `npx bouy enqueue
// --wait`, /health naming both queues, `npx bouy scale worker=2`, a `docker stop` of one
// container under load with no job lost or run twice, `npx bouy down -v`. Nothing here uses
// this repository's ./bouy or its compose files: only what the tarball ships.
const id = randomBytes(4).toString('hex');
const project = `bouyexample${id}`;
const image = `bouy-example-e2e:${id}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-example-'));
const app = path.join(dir, 'shop');
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** The test process's own stack settings must not leak into the application's commands. */
const { COMPOSE_PROJECT_NAME: _p, BOUY_IMAGE: _i, BOUY_ENV_FILE: _e, BOUY_PROJECT_DIR: _d, QUEUE_NAME: _q, PROCESSOR: _r, WORKER_COUNT: _w, ...hostEnv } = process.env;
const appEnv = { ...hostEnv, NO_COLOR: '1', CI: 'true' };

function sh(file: string, args: string[], timeoutMs = 300_000, env: Record<string, string | undefined> = {}): Promise<BouyResult> {
  return runCommand(file, args, { ...appEnv, ...env }, timeoutMs, app);
}

/** `npx bouy …` from the application's folder, as its team runs it. */
const npxBouy = (args: string[], env: Record<string, string | undefined> = {}, timeoutMs?: number) => sh('npx', ['--no-install', 'bouy', ...args], timeoutMs, env);

async function workerContainers(): Promise<ContainerInfo[]> {
  const ps = await npxBouy(['ps', '--json']);
  expect(ps.code, ps.stderr).toBe(0);
  return json<{ containers: ContainerInfo[] }>(ps).containers.filter((c) => c.service === 'worker');
}

const EMAILS = `import type { Processor } from 'bouy';
import ms from 'ms';

interface Email { to: string }
/** An async send: the dependency from npm proves the image installed the app's own packages. */
const send: Processor<Email, { sent: string; retry: string; starts: number }> = async (job) => {
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { sent: job.data.to, retry: ms(90_000), starts: job.attemptsStarted };
};
export default send;
`;

const THUMBNAILS = `import { createHash } from 'node:crypto';
import type { Processor, ProcessorContext } from 'bouy';

let queue = '';
export function setup(ctx: ProcessorContext): void {
  queue = ctx.queue;
}

interface Picture { name: string; ms?: number }
/** About 20 ms of hashing by default; the test asks for longer jobs to stop a container under load. */
const thumbnail: Processor<Picture, { digest: string; queue: string; starts: number }> = async (job) => {
  const until = Date.now() + (job.data.ms ?? 20);
  let digest = job.data.name;
  do digest = createHash('sha256').update(digest).digest('hex');
  while (Date.now() < until);
  return { digest: digest.slice(0, 16), queue, starts: job.attemptsStarted };
};
export default thumbnail;
`;

beforeAll(async () => {
  // The tarball the test suite's build made (`npm run test:e2e` builds first): the artefact.
  const packed = await capture('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], process.env, ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  const tarball = readdirSync(dir).find((f) => /^bouy-.*\.tgz$/.test(f))!;
  mkdirSync(app);
  copyFileSync(path.join(dir, tarball), path.join(app, tarball));
  // The README's five commands, from an empty folder.
  expect((await sh('npm', ['init', '-y'])).code).toBe(0);
  const installed = await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${tarball}`, 'ms@2'], 600_000);
  expect(installed.code, installed.stderr).toBe(0);
  mkdirSync(path.join(app, 'processors'));
  writeFileSync(path.join(app, 'processors', 'emails.ts'), EMAILS);
  writeFileSync(path.join(app, 'processors', 'thumbnails.ts'), THUMBNAILS);
  const init = await npxBouy(['init']);
  expect(init.code, init.stderr).toBe(0);
  // A stack of this test's own: its project and image names in the app's .env (as a team
  // would name theirs), on the health ports the other container tests leave free.
  const dotenv = readFileSync(path.join(app, '.env'), 'utf8');
  expect(dotenv).toMatch(/^QUEUE_NAME=emails,thumbnails$/m);
  writeFileSync(path.join(app, '.env'), dotenv
    .replace(/^COMPOSE_PROJECT_NAME=.*$/m, `COMPOSE_PROJECT_NAME=${project}`)
    .replace(/^BOUY_IMAGE=.*$/m, `BOUY_IMAGE=${image}`));
}, 900_000);

afterAll(async () => {
  await npxBouy(['down', '-v', '--timeout', '2'], {}, 180_000).catch(() => undefined);
  await docker(['image', 'rm', '--force', image]);
  rmSync(dir, { recursive: true, force: true });
});

describe('a team\'s own application, from npm pack to a running fleet', () => {
  it('npx bouy init wrote the app\'s Dockerfile, compose files, .env and no example (its processors exist)', () => {
    for (const file of ['docker/Dockerfile', 'compose/base.yml', 'compose/dev.yml', '.env', '.dockerignore']) {
      expect(readFileSync(path.join(app, file), 'utf8').length, file).toBeGreaterThan(0);
    }
    expect(readdirSync(path.join(app, 'processors')).sort()).not.toContain('example.ts');
  });

  it('npx bouy up worker builds the app\'s image and runs each queue\'s own processor', async () => {
    const started = Date.now();
    const up = await npxBouy(['up', 'worker', '--json'], { WORKER_COUNT: '2' }, 900_000);
    console.log(`npx bouy up worker (build included): ${((Date.now() - started) / 1000).toFixed(1)} s, load ${load()}`);
    expect(up.code, up.stderr).toBe(0);
    const { project: started_, health } = json<{ project: string; health: HealthReport[] }>(up);
    expect(started_).toBe(project);
    expect(health).toHaveLength(1);
    expect(health[0]!.worker_count).toBe(2);
    const body = await (await fetch(`http://127.0.0.1:${health[0]!.port}/health`)).json() as { queue: string; status: string };
    expect(body.status).toBe('healthy');
    expect(body.queue.split(',').sort()).toEqual(['emails', 'thumbnails']);
    // Built from the app's own Dockerfile, under the app's tag.
    const env = await docker(['image', 'inspect', image, '--format', '{{json .Config.Env}}']);
    expect(env.code, env.stderr).toBe(0);
    expect(JSON.parse(env.stdout)).toEqual(expect.arrayContaining(['PROCESSORS_DIR=/app/processors']));

    const emails = await npxBouy(['enqueue', 'emails', '{"to":"ann@example.com"}', '--wait', '--json']);
    expect(emails.code, emails.stderr).toBe(0);
    expect(json<{ outcomes: Array<{ state: string; result: unknown }> }>(emails).outcomes[0])
      .toMatchObject({ state: 'completed', result: { sent: 'ann@example.com', retry: '2m', starts: 1 } });
    const thumbs = await npxBouy(['enqueue', 'thumbnails', '{"name":"cat.png"}', '--wait', '--json']);
    expect(thumbs.code, thumbs.stderr).toBe(0);
    expect(json<{ outcomes: Array<{ state: string; result: unknown }> }>(thumbs).outcomes[0])
      .toMatchObject({ state: 'completed', result: { queue: 'thumbnails', starts: 1 } });
  });

  it('npx bouy scale worker=2, then a docker stop of one container under load loses no job and runs none twice', async () => {
    const scaled = await npxBouy(['scale', 'worker=2'], { WORKER_COUNT: '2' }, 600_000);
    expect(scaled.code, scaled.stderr).toBe(0);
    const workers = await workerContainers();
    expect(workers.map((c) => c.state)).toEqual(['running', 'running']);

    // 40 jobs of 2 s on 2 containers × 2 workers: about 20 s of work. The stop comes once the
    // container has finished its first one, so it lands with jobs running and more waiting.
    const jobs = 40;
    const enqueue = npxBouy(['enqueue', 'thumbnails', '{"name":"load.png","ms":2000}', '--count', String(jobs), '--wait', '--wait-timeout', '240', '--json'], {}, 300_000);
    const port = workers[1]!.ports['8080/tcp']!;
    let seen = '';
    await waitFor(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), (e: unknown) => String(e))
      .then((text) => {
        seen = text.split('\n').filter((l) => l.startsWith('bouy_jobs')).join('\n');
        return /bouy_jobs_total\{queue="thumbnails"[^}]*outcome="completed"[^}]*\} [1-9]/.test(text) ? true : undefined;
      }), 'the container to stop to have finished a job', 90_000, 200)
      .catch((error: unknown) => { throw new Error(`${String(error)}\nlast /metrics of ${port}:\n${seen}`); });
    const stopped = await docker(['stop', '--time', '30', workers[1]!.id]);
    expect(stopped.code, stopped.stderr).toBe(0);
    const result = await enqueue;
    expect(result.code, result.stderr).toBe(0);
    const outcomes = json<{ outcomes: Array<{ state: string; result: { starts: number } }> }>(result).outcomes;
    expect(outcomes).toHaveLength(jobs);
    expect(outcomes.filter((o) => o.state !== 'completed')).toEqual([]);
    expect(outcomes.filter((o) => o.result.starts !== 1)).toEqual([]);
    console.log(`docker stop under load: ${jobs}/${jobs} completed, each started once (load ${load()})`);
  });

  it('npx bouy down -v removes the stack', async () => {
    const down = await npxBouy(['down', '-v', '--timeout', '5'], {}, 180_000);
    expect(down.code, down.stderr).toBe(0);
    const left = await docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.ID}}']);
    expect(left.stdout.trim()).toBe('');
  });
});

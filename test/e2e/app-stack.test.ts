import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../src/cli/docker.js';
import type { HealthReport } from '../../src/cli/health-probe.js';
import { capture } from '../../src/cli/process.js';
import { bouy, json } from '../helpers/bouy.js';
import { ROOT } from '../helpers/processes.js';
import { docker, IMAGE, testStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

// Issue 19, the stack half, on an application's own folder as `bouy init` lays it out: its
// docker/Dockerfile (FROM bouy's image, with ENV QUEUE_NAME and PROCESSOR baked in), compose/
// copied unchanged from this repository, .env with its project name and image, processors/.
// bouy runs from that folder and drives that stack (finding 3); the image's ENV holds with
// nothing set in the shell or .env (2); enqueue and workers reach the private Redis of --prod
// (7); a stopped container shows in health and ps (6); plain Compose scales it in the same
// project (8); a crash loop ends `up` at once, saying why (5). One stack through all of it.
const id = randomBytes(4).toString('hex');
const project = `h19bapp${id}`;
const appImage = `bouy-app-e2e:${id}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-app-'));
const appDir = path.join(dir, 'shop');
// The application's own ports, from its .env: bouy's worker containers and, through the
// compose/.env link, plain Compose's api and dashboard.
const HEALTH_PORTS = '18280-18289';
const API_PORT = 18290;
const DASHBOARD_PORT = 18291;
/** Nothing of this test process's own stack settings: the application's .env says them. */
const clear = { COMPOSE_PROJECT_NAME: undefined, BOUY_ENV_FILE: undefined, BOUY_IMAGE: undefined, BOUY_PROJECT_DIR: undefined, QUEUE_NAME: undefined, PROCESSOR: undefined };
const run = (args: string[], env: Record<string, string | undefined> = {}, cwd = appDir, timeoutMs?: number) =>
  bouy(args, { ...clear, ...env }, timeoutMs, cwd);

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** An application folder: compose/ from this repository (base, dev, prod: what init copies), .env. */
function appFolder(folder: string, dotenv: string): void {
  mkdirSync(path.join(folder, 'compose'), { recursive: true });
  for (const file of ['base.yml', 'dev.yml', 'prod.yml']) copyFileSync(path.join(ROOT, 'compose', file), path.join(folder, 'compose', file));
  symlinkSync(path.join('..', '.env'), path.join(folder, 'compose', '.env'));
  write(path.join(folder, '.env'), dotenv);
}

async function workerContainers(): Promise<ContainerInfo[]> {
  const ps = await run(['ps', '--json']);
  expect(ps.code, ps.stderr).toBe(0);
  return json<{ project: string; containers: ContainerInfo[] }>(ps).containers.filter((c) => c.service === 'worker');
}

beforeAll(async () => {
  // bouy's image (cached after the first build), which the application's image starts FROM.
  const stack = testStack();
  try {
    const built = await stack.run(['build'], {}, 900_000);
    expect(built.code, built.stderr).toBe(0);
  } finally {
    await stack.clean();
  }
  appFolder(appDir, [`COMPOSE_PROJECT_NAME=${project}`, `BOUY_IMAGE=${appImage}`, 'API_AUTH=none', 'DASHBOARD_AUTH=none',
    `BOUY_HEALTH_PORTS=${HEALTH_PORTS}`, `BOUY_API_PORT=${API_PORT}`, `BOUY_DASHBOARD_PORT=${DASHBOARD_PORT}`, ''].join('\n'));
  write(path.join(appDir, 'docker', 'Dockerfile'), [
    `FROM ${IMAGE} AS runtime`,
    // Settings baked into the image: no compose file may remove or replace them.
    'ENV QUEUE_NAME=emails PROCESSOR=/app/processors/emails.mjs WORKER_COUNT=2',
    'COPY processors /app/processors',
    '',
  ].join('\n'));
  write(path.join(appDir, 'processors', 'emails.mjs'),
    'export default async function sendEmail(job) {\n  return { sent: job.data.to, by: \'shop\', worker: process.env.WORKER_NAME };\n}\n');
}, 900_000);

afterAll(async () => {
  await run(['down', '-v', '--timeout', '2'], {}, appDir, 180_000).catch(() => undefined);
  await docker(['image', 'rm', '--force', appImage]);
  rmSync(dir, { recursive: true, force: true });
});

describe('an application\'s own stack, driven from its folder', () => {
  it('a project with no docker/Dockerfile and no image: a clear error naming the image, nothing built', async () => {
    const bare = path.join(dir, 'bare');
    appFolder(bare, `COMPOSE_PROJECT_NAME=${project}bare\nBOUY_IMAGE=bouy-app-e2e:missing-${id}\n`);
    for (const args of [['up', 'worker', '--prod'], ['build', '--prod'], ['up', 'worker', '--prod', '--build']]) {
      const r = await run(args, {}, bare);
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`bouy-app-e2e:missing-${id}.*${bare.replace(/[/.]/g, '\\$&')} has no docker/Dockerfile`));
      expect(r.code, args.join(' ')).toBe(69);
    }
    expect((await docker(['image', 'inspect', `bouy-app-e2e:missing-${id}`])).code).not.toBe(0);
  });

  it('bouy build --prod from the folder builds the application\'s image from its own Dockerfile', async () => {
    const r = await run(['build', '--prod'], {}, path.join(appDir, 'processors'), 900_000);
    expect(r.code, r.stderr).toBe(0);
    const env = await docker(['image', 'inspect', appImage, '--format', '{{json .Config.Env}}']);
    expect(env.code, env.stderr).toBe(0);
    expect(JSON.parse(env.stdout)).toEqual(expect.arrayContaining(['QUEUE_NAME=emails', 'PROCESSOR=/app/processors/emails.mjs']));
  });

  it('bouy up worker --prod with nothing set: the image\'s queue and processor run; enqueue --wait reaches the private Redis', async () => {
    const up = await run(['up', 'worker', '--prod', '--json']);
    expect(up.code, up.stderr).toBe(0);
    const { project: started, health } = json<{ project: string; health: HealthReport[] }>(up);
    expect(started).toBe(project);
    expect(health).toHaveLength(1);
    expect(health[0]!.worker_count).toBe(2);
    expect(health[0]!.port).toBe(18280);
    const body = await (await fetch(`http://127.0.0.1:${health[0]!.port}/health`)).json() as { queue: string };
    expect(body.queue).toBe('emails');
    // Redis is not published in prod: enqueue runs inside the stack.
    const redis = json<{ containers: ContainerInfo[] }>(await run(['ps', '--json'])).containers.find((c) => c.service === 'redis');
    expect(redis?.ports['6379/tcp']).toBeUndefined();
    const r = await run(['enqueue', 'emails', '{"to":"ann@example.com"}', '--wait', '--json', '--prod']);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ outcomes: Array<{ state: string; result: unknown }> }>(r).outcomes[0])
      .toMatchObject({ state: 'completed', result: { sent: 'ann@example.com', by: 'shop' } });
    const workers = await run(['workers', '--json', '--prod']);
    expect(workers.code, workers.stderr).toBe(0);
    expect(json<{ workers: Array<{ queues: string[] }> }>(workers).workers.map((w) => w.queues)).toEqual([['emails'], ['emails']]);
  });

  it('a stopped worker container is listed by health (exit 1) and ps', async () => {
    const scaled = await run(['scale', 'worker=2', '--prod']);
    expect(scaled.code, scaled.stderr).toBe(0);
    const [, second] = await workerContainers();
    expect((await docker(['stop', '--time', '5', second!.id])).code).toBe(0);
    const health = await run(['health', '--json']);
    const reports = json<HealthReport[]>(health);
    expect(reports.map((r) => [r.id, r.status]).sort()).toEqual([[(await workerContainers())[0]!.id, 'healthy'], [second!.id, 'exited']].sort());
    expect(health.code).toBe(1);
    expect((await workerContainers()).find((c) => c.id === second!.id)?.state).toBe('exited');
    const logs = await run(['logs', 'worker', '--tail', '200']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('Workers ready: 2/2');
  });

  it('plain Compose: docker-compose -f compose/base.yml up -d --scale worker=3 lands in the same project, one health port each', async () => {
    // No -p, nothing in the shell: the project name comes from compose/.env (the link to .env).
    const { COMPOSE_PROJECT_NAME: _project, BOUY_IMAGE: _image, ...env } = process.env;
    const r = await capture('docker-compose', ['-f', 'compose/base.yml', 'up', '-d', '--scale', 'worker=3'], { ...env, COMPOSE_DOCKER_CLI_BUILD: '0', DOCKER_BUILDKIT: '0' }, appDir);
    expect(r.code, r.stderr).toBe(0);
    const workers = await workerContainers();
    expect(workers.map((c) => c.state)).toEqual(['running', 'running', 'running']);
    const ports = workers.map((c) => c.ports['8080/tcp']!);
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(8080);
      expect(port).toBeLessThanOrEqual(8089);
      const body = await waitFor(() => fetch(`http://127.0.0.1:${port}/health`).then((res) => res.json() as Promise<{ status: string; queue: string }>, () => undefined)
        .then((b) => (b?.status === 'healthy' ? b : undefined)), `health on ${port}`, 90_000, 500);
      expect(body.queue).toBe('emails');
    }
    console.log(`plain Compose --scale worker=3: health ports ${ports.join(', ')}`);
    // The rest of the stack too, on the ports the application's .env names (read through compose/.env).
    const all = json<{ containers: ContainerInfo[] }>(await run(['ps', '--json'])).containers;
    expect(all.find((c) => c.service === 'api')?.ports['8000/tcp']).toBe(API_PORT);
    expect(all.find((c) => c.service === 'dashboard')?.ports['9181/tcp']).toBe(DASHBOARD_PORT);
  });

  it('up with a bad PROCESSOR ends at once with exit 1 and the container\'s own error', async () => {
    const started = Date.now();
    const r = await run(['up', 'worker', '--prod'], { PROCESSOR: '/app/processors/nope.mjs' });
    console.log(`up with a crash loop: exit ${r.code} after ${((Date.now() - started) / 1000).toFixed(1)} s (uptime: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
    expect(r.stderr).toMatch(/worker container went down while up waited/);
    expect(r.stderr).toMatch(/nope\.mjs/);
    expect(r.stderr).not.toMatch(/not healthy after/);
    expect(r.code).toBe(1);
  });

  it('bouy down -v from the folder removes the application\'s containers and its Redis volume', async () => {
    const r = await run(['down', '-v', '--timeout', '5'], {}, appDir, 180_000);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ containers: ContainerInfo[] }>(await run(['ps', '--json'])).containers).toEqual([]);
    expect((await docker(['volume', 'inspect', `${project}_redis-data`])).code).not.toBe(0);
  });
});

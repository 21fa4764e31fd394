import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { workerTargets } from '../src/cli/commands/up.js';
import { composeFiles } from '../src/cli/compose.js';
import type { ContainerInfo } from '../src/cli/docker.js';
import { cliContainer } from '../src/cli/inside-stack.js';
import { parseScale } from '../src/cli/context.js';
import { workerServices } from '../src/cli/pools.js';
import { stackDeployArgs } from '../src/cli/swarm.js';
import { bouy, json } from './helpers/bouy.js';
import { ROOT } from './helpers/processes.js';

// Worker pools (issue 20, item 6) without an engine: what `bouy pool` writes, and every refusal
// of a bad pool, scale or port range (exit 64, naming what is allowed) before Docker is asked.
// test/e2e/pools.test.ts runs two pools on a real stack.

interface Service { environment: string[]; ports?: string[]; labels?: Record<string, string>; deploy?: { replicas?: unknown }; depends_on?: unknown }
const load = (file: string) => parse(readFileSync(file, 'utf8')) as { services: Record<string, Service> };

let tmp: string;
let file: string;
let env: Record<string, string>;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'bouy-pools-'));
  file = path.join(tmp, 'pools.yml');
  env = { BOUY_POOLS_FILE: file, BOUY_ENV_FILE: path.join(tmp, '.env') };
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const pool = (...args: string[]) => bouy(['pool', ...args], env);

describe('bouy pool', () => {
  it('add writes each pool as the project\'s worker service with its own queues, count and health ports (compose and swarm)', async () => {
    const emails = await pool('add', 'emails', '--queues', 'emails,newsletters', '--workers', '2', '--json');
    expect(emails.code, emails.stderr).toBe(0);
    const thumbnails = await pool('add', 'thumbnails', '--queues', 'thumbnails:3,avatars:1', '--json');
    expect(thumbnails.code, thumbnails.stderr).toBe(0);
    expect(json<{ pools: unknown[] }>(thumbnails).pools).toEqual([
      { name: 'emails', service: 'worker-emails', queues: ['emails', 'newsletters'], workers: '2', health_ports: '8090-8099' },
      { name: 'thumbnails', service: 'worker-thumbnails', queues: ['thumbnails:3', 'avatars:1'], workers: '1', health_ports: '8100-8109' },
    ]);

    const base = load(path.join(ROOT, 'compose', 'base.yml')).services.worker!;
    const written = load(file).services;
    expect(Object.keys(written)).toEqual(['worker-emails', 'worker-thumbnails']);
    const service = written['worker-emails']!;
    // Every setting of the worker service passes through, but the pool's two.
    const fixed = ['BOUY_SET_QUEUE_NAME=emails,newsletters', 'BOUY_SET_WORKER_COUNT=2'];
    expect(service.environment).toEqual(base.environment.map((e) => fixed.find((f) => f.split('=')[0] === e.split('=')[0]) ?? e));
    expect(service.ports).toEqual(['${BOUY_HEALTH_PORT_EMAILS:-8090-8099}:8080']);
    expect(service.labels).toEqual({ 'bouy.pool': 'emails', 'bouy.pool.queues': 'emails,newsletters', 'bouy.pool.health-ports': '8090-8099' });
    expect(service.depends_on).toEqual(base.depends_on);

    const stack = load(path.join(tmp, 'stack.pools.yml')).services;
    const stackWorker = load(path.join(ROOT, 'compose', 'stack.yml')).services.worker!;
    expect(stack['worker-thumbnails']!.deploy!.replicas).toBe('${BOUY_WORKER_REPLICAS_THUMBNAILS:-1}');
    expect(stack['worker-thumbnails']!.environment).toContain('BOUY_SET_QUEUE_NAME=thumbnails:3,avatars:1');
    expect(stack['worker-thumbnails']!.environment).toHaveLength(stackWorker.environment.length);
    // Swarm tasks publish no health port (compose/stack.yml says why).
    expect(stack['worker-thumbnails']!.ports).toBeUndefined();
  });

  it('add again changes a pool in place (its ports stay); rm removes one; ls lists them', async () => {
    expect((await pool('add', 'emails', '--queues', 'emails', '--workers', '2-6')).code).toBe(0);
    const listed = json<{ pools: Array<{ name: string; workers: string; health_ports: string }> }>(await pool('ls', '--json')).pools;
    expect(listed.find((p) => p.name === 'emails')).toMatchObject({ workers: '2-6', health_ports: '8090-8099' });
    expect((await pool('add', 'avatars', '--queues', 'avatars', '--health-ports', '9000-9001')).code).toBe(0);
    expect((await pool('rm', 'avatars')).code).toBe(0);
    expect(Object.keys(load(file).services)).toEqual(['worker-emails', 'worker-thumbnails']);
    const table = await pool('ls');
    expect(table.stdout).toMatch(/worker-thumbnails\s+thumbnails:3,avatars:1\s+1\s+8100-8109/);
  });

  it.each([
    [['pool', 'add', 'Bad_Name', '--queues', 'x'], /pool name "Bad_Name" is not valid: lowercase letters, digits and -, 1-30 characters/],
    [['pool', 'add', 'x-', '--queues', 'x'], /pool name "x-" is not valid/],
    [['pool', 'add', 'a'.repeat(31), '--queues', 'x'], /is not valid: lowercase letters, digits and -, 1-30 characters/],
    [['pool', 'add', 'x'], /pool add x: --queues is required/],
    [['pool', 'add', 'x', '--queues', 'a b'], /--queues "a b" is not valid: queue names/],
    [['pool', 'add', 'x', '--queues', 'x', '--workers', '0'], /--workers "0" is not valid: a whole number from 1 to 20/],
    [['pool', 'add', 'x', '--queues', 'x', '--workers', '21'], /--workers "21" is not valid/],
    [['pool', 'add', 'x', '--queues', 'x', '--health-ports', '8085-8092'], /the health ports of worker \(8080-8089\) and worker-x \(8085-8092\) overlap/],
    [['pool', 'add', 'x', '--queues', 'x', '--health-ports', '8095-8105'], /the health ports of worker-emails \(8090-8099\) and worker-x \(8095-8105\) overlap/],
    [['pool', 'add', 'x', '--queues', 'x', '--health-ports', 'lots'], /--health-ports "lots" is not valid: LOW-HIGH host ports/],
    [['pool', 'rm', 'nope'], /no pool "nope" in .*: the pools are emails, thumbnails/],
    [['pool', 'drop', 'x'], /Invalid values:[\s\S]*action/],
    [['scale', 'worker-nope=2'], /no worker service "worker-nope": the worker services are worker, worker-emails, worker-thumbnails/],
    [['scale', 'worker-emails=11'], /scale worker-emails=11: worker-emails takes 0-10 containers, one per health port of 8090-8099/],
    [['scale', 'worker-emails=-1'], /scale "worker-emails=-1" is not valid: expected SERVICE=N/],
    [['up', 'worker-nope'], /no worker service "worker-nope"/],
    [['scale', '--stack', 'bouy', 'worker-emails=101'], /scale "worker-emails=101" is not valid: SERVICE=N with N from 0 to 100 tasks/],
    [['scale', '--stack', 'Bad', 'worker-emails=1'], /--stack "Bad" is not valid/],
  ])('bouy %j exits 64 saying what is allowed', async (args, message) => {
    const r = await bouy(args, env);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(64);
    // A refused add writes nothing.
    expect(Object.keys(load(file).services)).toEqual(['worker-emails', 'worker-thumbnails']);
  });

  it('the worker services, their ranges and what `up`/`scale` bring to a count', () => {
    const services = workerServices(ROOT, env);
    expect(services.map((s) => [s.service, `${s.ports.low}-${s.ports.high}`, s.portVariable])).toEqual([
      ['worker', '8080-8089', 'BOUY_HEALTH_PORT'], ['worker-emails', '8090-8099', 'BOUY_HEALTH_PORT_EMAILS'], ['worker-thumbnails', '8100-8109', 'BOUY_HEALTH_PORT_THUMBNAILS'],
    ]);
    const plan = (scales: string[], options: { services: string[]; noRecreate: boolean }) =>
      workerTargets(services, scales.map((s) => parseScale(s, services)), options).map((t) => `${t.service.service}=${t.count}`);
    // `up`: every worker service, one container each unless --scale says otherwise.
    expect(plan(['worker-emails=3'], { services: [], noRecreate: false })).toEqual(['worker=1', 'worker-emails=3', 'worker-thumbnails=1']);
    expect(plan([], { services: ['worker-thumbnails', 'api'], noRecreate: false })).toEqual(['worker-thumbnails=1']);
    expect(plan([], { services: ['api'], noRecreate: false })).toEqual([]);
    // `scale`: only the services scaled; 0 is a count.
    expect(plan(['worker-thumbnails=0'], { services: ['worker-thumbnails'], noRecreate: true })).toEqual(['worker-thumbnails=0']);
    expect(parseScale('api=2', services)).toEqual({ service: 'api', count: 2 });
  });

  it('Compose and Swarm read the pools file when there is one', () => {
    expect(composeFiles(ROOT, 'prod', file).map((f) => path.basename(f))).toEqual(['base.yml', 'prod.yml', 'pools.yml']);
    expect(composeFiles(ROOT, 'prod', path.join(tmp, 'none.yml')).map((f) => path.basename(f))).toEqual(['base.yml', 'prod.yml']);
    expect(stackDeployArgs('/src', 'jobs', 'never', path.join(tmp, 'stack.pools.yml'))).toEqual([
      'stack', 'deploy', '--compose-file', '/src/compose/stack.yml', '--compose-file', path.join(tmp, 'stack.pools.yml'), '--resolve-image', 'never', '--prune', 'jobs']);
  });

  it('bouy enqueue/workers in --prod find a pool\'s container to run in when no other bouy service runs', () => {
    const container = (service: string, state = 'running'): ContainerInfo => ({ id: service, name: `p-${service}-1`, service, state, exitCode: 0, restarts: 0, health: '', ports: {}, configFiles: [] });
    expect(cliContainer([container('redis'), container('worker-emails')])?.service).toBe('worker-emails');
    expect(cliContainer([container('redis'), container('worker-emails'), container('api')])?.service).toBe('api');
    expect(cliContainer([container('redis'), container('worker-emails', 'exited')])).toBeUndefined();
  });

  it('rm of the last pool removes both files', async () => {
    for (const name of ['emails', 'thumbnails']) expect((await pool('rm', name)).code).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(path.join(tmp, 'stack.pools.yml'))).toBe(false);
    expect(workerServices(ROOT, env).map((s) => s.service)).toEqual(['worker']);
  });
});

import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/cli/health-probe.js';
import { json } from '../helpers/bouy.js';
import { freePort } from '../helpers/free-port.js';
import { docker } from '../helpers/stack.js';
import { initSwarmIfNeeded, testSwarmStack } from '../helpers/swarm.js';
import { waitFor } from '../helpers/wait.js';

// A worker pool on a real single-node Docker Swarm (issue 20, item 6): `./bouy deploy` deploys
// compose/stack.yml with the pools file `bouy pool add` wrote beside the stack's settings, and
// `./bouy scale --stack NAME worker-thumbnails=2` scales that pool's service alone.
// Every queue runs the built-in llm example (the pool's queue has no module of its own).
const stack = testSwarmStack({ WORKER_COUNT: '1', LOG_LEVEL: 'info', PROCESSOR: '/app/dist/processors/llm.js' });
let initialisedSwarm = false;

beforeAll(async () => {
  appendFileSync(stack.envFile, `BOUY_POOLS_FILE=${path.join(path.dirname(stack.envFile), 'pools.yml')}\n`);
  initialisedSwarm = await initSwarmIfNeeded();
});

afterAll(async () => {
  await stack.remove();
  if (initialisedSwarm) await docker(['swarm', 'leave', '--force']);
});

describe('worker pools on Docker Swarm', () => {
  it('./bouy deploy runs the pool as a service of its own, healthy', async () => {
    const added = await stack.run(['pool', 'add', 'thumbnails', '--queues', 'thumbnails', '--workers', '2']);
    expect(added.code, added.stderr).toBe(0);
    const r = await stack.run(['deploy', '--name', stack.name, '--build', '--json'], { BOUY_API_PORT: String(await freePort()), BOUY_DASHBOARD_PORT: String(await freePort()) }, 600_000);
    expect(r.code, r.stderr).toBe(0);
    const out = json<{ services: Array<{ role: string; running: number; desired: number }>; health: HealthReport[] }>(r);
    expect(out.services.map((s) => `${s.role} ${s.running}/${s.desired}`).sort()).toEqual(['api 1/1', 'dashboard 1/1', 'redis 1/1', 'scheduler 1/1', 'worker 1/1', 'worker-thumbnails 1/1']);
    // The pool's own WORKER_COUNT (2), not the stack's (1).
    expect(out.health.map((h) => [h.service, h.status, h.worker_count]).sort()).toEqual([['worker', 'healthy', 1], ['worker-thumbnails', 'healthy', 2]]);
  });

  it('./bouy scale --stack NAME worker-thumbnails=2 scales that service only; health lists its tasks', async () => {
    const r = await stack.run(['scale', '--stack', stack.name, 'worker-thumbnails=2', '--json'], {}, 180_000);
    expect(r.code, r.stderr).toBe(0);
    const services = json<{ services: Array<{ role: string; desired: number }> }>(r).services;
    expect(services.filter((s) => s.role.startsWith('worker')).map((s) => `${s.role} ${s.desired}`).sort()).toEqual(['worker 1', 'worker-thumbnails 2']);
    const health = await waitFor(async () => {
      const reports = await stack.health();
      return reports.length === 3 && reports.every((h) => h.status === 'healthy') && reports;
    }, 'three healthy worker tasks', 90_000, 1000);
    expect(health.map((h) => h.service).sort()).toEqual(['worker', 'worker-thumbnails', 'worker-thumbnails']);
    // The pool's tasks take only its queue.
    const [task] = await stack.tasks('worker-thumbnails');
    expect((await docker(['inspect', '--format', '{{json .Config.Env}}', task!])).stdout).toContain('BOUY_SET_QUEUE_NAME=thumbnails');
  });

  it('a service the stack does not have is refused, naming the ones it has (exit 64)', async () => {
    const r = await stack.run(['scale', '--stack', stack.name, 'worker-nope=1']);
    expect(r.stderr).toMatch(new RegExp(`no service "worker-nope" in stack ${stack.name}: its services are .*worker-thumbnails`));
    expect(r.code).toBe(64);
  });
});

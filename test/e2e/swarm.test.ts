import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/cli/health-probe.js';
import { json } from '../helpers/bouy.js';
import { freePort } from '../helpers/free-port.js';
import { docker } from '../helpers/stack.js';
import { swarmState, testSwarmStack, type JobRecord } from '../helpers/swarm.js';
import { waitFor } from '../helpers/wait.js';

// bouy on a real single-node Docker Swarm, driven through ./bouy deploy and Swarm's own
// commands, step by step: each test starts from where the previous one left the stack.
// HEARTBEAT_SECONDS=1: a dead task's registrations are stale after 3 s, not 15 s.
const stack = testSwarmStack({ WORKER_COUNT: '2', HEARTBEAT_SECONDS: '1', LOG_LEVEL: 'info' });
let initialisedSwarm = false;
let apiPort = 0;
let apiToken = '';

async function post(queue: string, body: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${apiPort}/jobs/${queue}`, {
    method: 'POST', headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
}

/** Enqueues `count` llm jobs through the stack's api (ids `<tag>-<i>`); resolves to their ids. */
async function enqueue(tag: string, count: number, latencyMs: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `${tag}-${i}`);
  for (let i = 0; i < ids.length; i += 20) {
    const answers = await Promise.all(ids.slice(i, i + 20).map((jobId) => post('llm', { data: { prompt: jobId, latency_ms: latencyMs }, opts: { jobId } })));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
  }
  return ids;
}

async function allDone(ids: readonly string[]): Promise<JobRecord[] | undefined> {
  const jobs = await stack.jobs('llm', ids);
  return jobs.length === ids.length && jobs.every((j) => j.state !== 'other') ? jobs : undefined;
}

/** Each job completed (none failed, none lost) and started exactly once. */
function expectEachOnce(jobs: readonly JobRecord[]): void {
  expect(jobs.filter((j) => j.state !== 'completed').map((j) => j.id)).toEqual([]);
  expect(jobs.filter((j) => j.started !== 1).map((j) => `${j.id} started ${j.started}×`)).toEqual([]);
}

const hostOf = (worker: string) => worker.split('-')[1]!;

/** The registered worker names in Redis, and the worker tasks' health, once they agree on `replicas`. */
async function fleetOf(replicas: number): Promise<{ tasks: string[]; names: string[]; health: HealthReport[] } | undefined> {
  const tasks = await stack.tasks('worker');
  if (tasks.length !== replicas) return undefined;
  const health = await stack.health();
  if (health.length !== replicas || !health.every((h) => h.status === 'healthy')) return undefined;
  const names = (await stack.redisCli('ZRANGE', 'bouy:workers', '0', '-1')).split('\n').filter(Boolean).sort();
  const expected = tasks.flatMap((id) => [1, 2].map((i) => `worker-${id}-${i}`)).sort();
  return names.join() === expected.join() ? { tasks, names, health } : undefined;
}

beforeAll(async () => {
  apiPort = await freePort();
  const state = await swarmState();
  if (state !== 'active') {
    // bouy initialises no swarm by itself: exit 69 with the command to run.
    const refused = await stack.run(['deploy', '--name', stack.name]);
    expect(refused.code, refused.stderr).toBe(69);
    expect(refused.stderr).toContain('docker swarm init --advertise-addr 127.0.0.1');
    const init = await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    expect(init.code, init.stderr).toBe(0);
    initialisedSwarm = true;
  }
});

afterAll(async () => {
  await stack.remove();
  if (initialisedSwarm) await docker(['swarm', 'leave', '--force']);
});

describe('bouy on Docker Swarm', () => {
  it('./bouy deploy --replicas 2 (WORKER_COUNT=2): builds the image, generates credentials, every task healthy and registered', async () => {
    const started = Date.now();
    const r = await stack.run(['deploy', '--replicas', '2', '--name', stack.name, '--build', '--json'], { BOUY_API_PORT: String(apiPort), BOUY_DASHBOARD_PORT: String(await freePort()) }, 600_000);
    expect(r.code, r.stderr).toBe(0);
    const out = json<{ converged_after_s: number; services: Array<{ role: string; running: number; desired: number }>; health: HealthReport[] }>(r);
    console.log(`./bouy deploy --build → converged: ${((Date.now() - started) / 1000).toFixed(1)} s (${out.converged_after_s} s after docker stack deploy)`);
    expect(out.services.map((s) => `${s.role} ${s.running}/${s.desired}`).sort()).toEqual(['api 1/1', 'dashboard 1/1', 'redis 1/1', 'scheduler 1/1', 'worker 2/2']);
    expect(out.health.map((h) => `${h.status} ${h.workers_ready}/${h.worker_count}`)).toEqual(['healthy 2/2', 'healthy 2/2']);

    // The credentials went into the settings file (the api and dashboard refuse to start without).
    apiToken = stack.settings().API_TOKEN!;
    expect(apiToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.stdout + r.stderr).not.toContain(apiToken);
    expect((await fetch(`http://127.0.0.1:${apiPort}/jobs/llm/x`)).status).toBe(401);

    const fleet = await waitFor(() => fleetOf(2), 'both tasks\' 2 workers registered in Redis', 30_000, 500);
    // Each task reports its own workers, named after its container id (its hostname).
    for (const h of fleet.health) expect(h.workers.map((w) => w.name)).toEqual([`worker-${h.id}-1`, `worker-${h.id}-2`]);
    expect(fleet.health.every((h) => h.via === 'exec')).toBe(true);
  });

  it('exactly one leader across the worker tasks and the scheduler, and it holds the lease key', async () => {
    const holder = await stack.redisCli('GET', 'bouy:leader');
    const [scheduler] = await stack.tasks('scheduler');
    const asked = await docker(['exec', scheduler!, 'node', '-e', "fetch('http://127.0.0.1:8080/health').then(async (r) => process.stdout.write(JSON.stringify(await r.json())))"]);
    const schedulerLeads = (JSON.parse(asked.stdout) as { leader: boolean }).leader;
    const health = await stack.health();
    const leaders = [...health.filter((h) => h.leader).map((h) => h.id), ...(schedulerLeads ? [scheduler!] : [])];
    expect(leaders).toHaveLength(1);
    expect(holder.split(':')[0]).toBe(leaders[0]);
  });

  it('40 jobs through the api: each processed exactly once, by workers of both tasks', async () => {
    const ids = await enqueue('once', 40, 200);
    const jobs = await waitFor(() => allDone(ids), '40 jobs to finish', 60_000, 500);
    expectEachOnce(jobs);
    expect(new Set(jobs.map((j) => hostOf(j.processedBy))).size).toBe(2);
  });

  it('docker service scale up to 3 and down to 1 while jobs run: the removed tasks drain, 0 lost, none run twice', async () => {
    const ids = await enqueue('scale', 80, 1000);
    const up = await docker(['service', 'scale', '--detach', `${stack.name}_worker=3`]);
    expect(up.code, up.stderr).toBe(0);
    const three = await waitFor(() => fleetOf(3), 'three healthy tasks, six workers registered', 90_000, 500);
    expect(three.names).toHaveLength(6);
    const before = await stack.jobs('llm', ids);
    expect(before.filter((j) => j.state === 'other').length, 'jobs still to run when scaling down').toBeGreaterThan(8);

    const down = await docker(['service', 'scale', '--detach', `${stack.name}_worker=1`]);
    expect(down.code, down.stderr).toBe(0);
    const jobs = await waitFor(() => allDone(ids), '80 jobs to finish', 120_000, 500);
    expectEachOnce(jobs);
    const one = await waitFor(() => fleetOf(1), 'one task left, its two workers the only registrations', 60_000, 500);
    // The two scaled-away tasks had taken jobs, and finished them: they drained, not died.
    const removed = three.tasks.filter((id) => !one.tasks.includes(id));
    expect(removed).toHaveLength(2);
    expect(jobs.some((j) => removed.includes(hostOf(j.processedBy)))).toBe(true);

    const back = await docker(['service', 'scale', '--detach', `${stack.name}_worker=2`]);
    expect(back.code, back.stderr).toBe(0);
    await waitFor(() => fleetOf(2), 'two tasks again', 90_000, 500);
  });

  it('a rolling docker service update --env-add while jobs run: new tasks, 0 lost, 0 failed, none run twice', async () => {
    const old = await stack.tasks('worker');
    const ids = await enqueue('rolling', 120, 1000);
    const update = await stack.service('worker', 'update', '--detach', '--env-add', 'BOUY_ROLLED=1');
    expect(update.code, update.stderr).toBe(0);
    const started = Date.now();
    await waitFor(async () => (await stack.service('worker', 'inspect', '--format', '{{.UpdateStatus.State}}')).stdout.trim() === 'completed',
      'the rolling update to complete', 240_000, 1000);
    console.log(`rolling update of 2 tasks (start-first, healthy before the old one drains): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const fleet = await waitFor(() => fleetOf(2), 'two healthy updated tasks', 60_000, 500);
    expect(fleet.tasks.filter((id) => old.includes(id))).toEqual([]);
    for (const id of fleet.tasks) expect((await docker(['inspect', '--format', '{{json .Config.Env}}', id])).stdout).toContain('BOUY_ROLLED=1');
    const jobs = await waitFor(() => allDone(ids), '120 jobs to finish', 120_000, 500);
    expectEachOnce(jobs);
    // The old tasks were running jobs while the update replaced them.
    expect(jobs.some((j) => old.includes(hostOf(j.processedBy)))).toBe(true);
  });

  it('docker kill of a task holding jobs: Swarm replaces it, the fleet returns its jobs, they run again', async () => {
    const [victim] = await stack.tasks('worker');
    const ids = await enqueue('killed', 24, 4000);
    await waitFor(async () => (await stack.jobs('llm', ids)).some((j) => j.state === 'other' && j.started > 0 && hostOf(j.processedBy) === victim),
      `${victim} to hold jobs`, 30_000, 200);
    const held = (await stack.jobs('llm', ids)).filter((j) => j.state === 'other' && j.started > 0 && hostOf(j.processedBy) === victim).map((j) => j.id);
    expect((await docker(['kill', victim!])).code).toBe(0);

    const replaced = await waitFor(async () => {
      const fleet = await fleetOf(2);
      return fleet && !fleet.tasks.includes(victim!) ? fleet : undefined;
    }, 'Swarm to start a replacement task, and the dead one\'s registrations to be gone', 120_000, 500);
    expect(replaced.names.some((n) => n.includes(victim!))).toBe(false);
    const jobs = await waitFor(() => allDone(ids), '24 jobs to finish, including the dead task\'s', 120_000, 500);
    expect(jobs.filter((j) => j.state !== 'completed').map((j) => j.id)).toEqual([]);
    for (const job of jobs.filter((j) => held.includes(j.id))) {
      expect(job.started, `${job.id} ran again`).toBeGreaterThanOrEqual(2);
      expect(hostOf(job.processedBy)).not.toBe(victim);
    }
    expect(held.length).toBeGreaterThan(0);
  });

  it('./bouy undeploy -v: the tasks drain and go, the Redis volume too', async () => {
    const r = await stack.run(['undeploy', '--name', stack.name, '-v', '--json'], {}, 180_000);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ removed: string[]; volumes_removed: boolean }>(r)).toMatchObject({ volumes_removed: true });
    expect((await docker(['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${stack.name}`])).stdout.trim()).toBe('');
    expect((await docker(['volume', 'ls', '-q', '--filter', `name=${stack.name}_redis-data`])).stdout.trim()).toBe('');
  });
});

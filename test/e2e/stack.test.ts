import { readFileSync, statSync } from 'node:fs';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/cli/health-probe.js';
import { parseDotenv } from '../../src/cli/dotenv.js';
import { registryKeys } from '../../src/registry/keys.js';
import { json } from '../helpers/bouy.js';
import { docker, testStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

// One real stack, driven through ./bouy, step by step: each test starts from where the
// previous one left it (the suite runs its files and tests in order).
const stack = testStack();
const WORKERS = '4';
let redis: Redis;
let queue: Queue;

async function enqueue(count: number, latencyMs: number, tag: string): Promise<string[]> {
  const jobs = await queue.addBulk(Array.from({ length: count }, (_, i) => ({ name: tag, data: { prompt: `${tag}-${i}`, latency_ms: latencyMs } })));
  return jobs.map((j) => j.id!);
}

async function allCompleted(ids: string[]): Promise<boolean> {
  const states = await Promise.all(ids.map((id) => queue.getJobState(id)));
  return states.every((s) => s === 'completed');
}

/** Jobs the whole fleet has completed, by the workers' own counters. */
function completedByFleet(reports: HealthReport[]): number {
  return reports.reduce((n, h) => n + h.workers.reduce((m, w) => m + w.jobs_completed, 0), 0);
}

function byContainer(reports: HealthReport[], id: string): HealthReport {
  const report = reports.find((r) => r.id === id);
  if (!report) throw new Error(`no health report for container ${id}`);
  return report;
}

beforeAll(async () => {
  // The image test built bouy:e2e; build again here (cached: seconds) so this file stands alone.
  const built = await stack.run(['build'], {}, 600_000);
  expect(built.code, built.stderr).toBe(0);
});

afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await stack.clean();
});

describe('the stack through ./bouy', () => {
  it('WORKER_COUNT=4 ./bouy up worker: one container, four named workers, healthy', async () => {
    const started = Date.now();
    const r = await stack.run(['up', 'worker', '--json'], { WORKER_COUNT: WORKERS });
    expect(r.code, r.stderr).toBe(0);
    const up = json<{ healthy_after_s: number; health: HealthReport[] }>(r);
    console.log(`./bouy up worker → healthy: ${((Date.now() - started) / 1000).toFixed(1)} s (compose up + ${up.healthy_after_s} s waiting)`);
    expect(up.health).toHaveLength(1);
    const [report] = up.health;
    expect(report!.status).toBe('healthy');
    // The settings file says WORKER_COUNT=2: the inline 4 must have reached the container.
    expect(report!.worker_count).toBe(4);
    expect(report!.workers.map((w) => w.name)).toEqual([1, 2, 3, 4].map((i) => `worker-${report!.id}-${i}`));

    const response = await fetch(`http://127.0.0.1:${report!.port}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'healthy', worker_count: 4, workers_ready: 4, queue: 'llm', hostname: report!.id });

    redis = new Redis(await stack.redisUrl(), { maxRetriesPerRequest: null });
    queue = new Queue('llm', { connection: redis, prefix: 'bull' });
  });

  it('./bouy logs worker prints and returns (follows only with -f), so it can be piped', async () => {
    const r = await stack.run(['logs', 'worker'], {}, 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Workers ready: 4/4');
  });

  it('./bouy exec worker <command with options of its own>: the options reach the command', async () => {
    const r = await stack.run(['exec', 'worker', 'node', 'dist/cli/main.js', 'workers', '--redis-url', 'redis://redis:6379', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ workers: Array<{ name: string }> }>(r).workers).toHaveLength(4);
  });

  it('the image HEALTHCHECK (node, no curl) turns the container healthy', async () => {
    await waitFor(async () => (await stack.containers()).find((c) => c.service === 'worker')?.health === 'healthy',
      'docker to report the worker container healthy', 60_000, 1000);
  });

  it('./bouy resize +1, ./bouy resize 4 and ./bouy recycle change the workers inside the running container', async () => {
    const workerCount = async () => (await stack.health())[0]!;
    const before = await workerCount();
    const grown = await stack.run(['resize', '+1']);
    expect(grown.code, grown.stderr).toBe(0);
    await waitFor(async () => {
      const h = await workerCount();
      return h.worker_count === 5 && h.workers_ready === 5;
    }, 'a fifth worker', 60_000, 250);
    const shrunk = await stack.run(['resize', '4']);
    expect(shrunk.code, shrunk.stderr).toBe(0);
    await waitFor(async () => {
      const h = await workerCount();
      return h.worker_count === 4 && h.workers_ready === 4;
    }, 'back to four workers', 60_000, 250);
    const recycled = await stack.run(['recycle']);
    expect(recycled.code, recycled.stderr).toBe(0);
    const after = await waitFor(async () => {
      const h = await workerCount();
      const replaced = h.workers.every((w, i) => w.state === 'ready' && w.pid !== before.workers[i]!.pid);
      return h.workers.length === 4 && replaced && h;
    }, 'all four workers replaced one by one', 90_000, 250);
    expect(after.workers.map((w) => w.name)).toEqual(before.workers.map((w) => w.name));
    expect(after.restarts).toBe(0);
  });

  it('./bouy enqueue llm \'{"prompt":"hi"}\' --wait: processed', async () => {
    const r = await stack.run(['enqueue', 'llm', '{"prompt":"hi"}', '--wait', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = json<{ outcomes: Array<{ state: string; result: { completion: string } }> }>(r);
    expect(out.outcomes[0]).toMatchObject({ state: 'completed', result: { completion: 'echo: hi' } });
  });

  it('./bouy scale worker=3: three containers, each answering health on its own port', async () => {
    const r = await stack.run(['scale', 'worker=3', '--json'], { WORKER_COUNT: WORKERS });
    expect(r.code, r.stderr).toBe(0);
    const health = await stack.health();
    expect(health).toHaveLength(3);
    const ports = health.map((h) => h.port);
    expect(new Set(ports).size).toBe(3);
    for (const h of health) {
      expect(h.port).toBeGreaterThanOrEqual(8080);
      expect(h.port).toBeLessThanOrEqual(8089);
      expect(h.status).toBe('healthy');
      // Each container reports its own workers, named after its own id.
      expect(h.workers.every((w) => w.name.startsWith(`worker-${h.id}-`))).toBe(true);
    }
  });

  it('./bouy up dashboard generates its credentials into .env; anonymous requests are refused, the credentials work', async () => {
    const r = await stack.run(['up', 'dashboard', '--no-wait', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const values = parseDotenv(readFileSync(stack.envFile, 'utf8'));
    expect(statSync(stack.envFile).mode & 0o777).toBe(0o600);
    expect(values.DASHBOARD_PASSWORD).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // It says where to log in, never with the password.
    const { login } = json<{ login: { dashboard: { url: string; user: string; password: string } } }>(r);
    expect(login.dashboard).toMatchObject({ user: values.DASHBOARD_USER, password: expect.stringMatching(/as DASHBOARD_PASSWORD$/) });
    for (const name of ['DASHBOARD_PASSWORD', 'API_TOKEN', 'ADMIN_TOKEN']) expect(r.stdout + r.stderr).not.toContain(values[name]!);
    const url = login.dashboard.url.replace('localhost', '127.0.0.1');
    await waitFor(() => fetch(`${url}livez`).then((res) => res.ok, () => false), 'the dashboard to answer', 60_000, 500);
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await fetch(`${url}api/queues/llm/clean/waiting`, { method: 'PUT' })).status).toBe(401);
    const authorization = `Basic ${Buffer.from(`${values.DASHBOARD_USER}:${values.DASHBOARD_PASSWORD}`).toString('base64')}`;
    const queues = await fetch(`${url}api/queues`, { headers: { authorization } });
    expect(queues.status).toBe(200);
    expect(((await queues.json()) as { queues: Array<{ name: string }> }).queues.map((q) => q.name)).toContain('llm');
  });

  it('jobs spread over the containers, each processed exactly once', async () => {
    const before = await stack.health();
    const doneBefore = completedByFleet(before);
    const ids = await enqueue(60, 200, 'spread');
    await waitFor(() => allCompleted(ids), '60 jobs to complete', 60_000, 250);
    const hosts = new Set<string>();
    for (const id of ids) {
      const job = await Job.fromId(queue, id);
      expect(job!.attemptsMade).toBe(1);
      hosts.add(String((job!.returnvalue as { worker: string }).worker).split('-')[1]!);
    }
    expect(hosts.size).toBeGreaterThanOrEqual(2);
    // Nobody ran a job twice: the fleet's completed counters grew by exactly 60.
    const after = await stack.health();
    expect(completedByFleet(after) - doneBefore).toBe(60);
  });

  it('a worker process killed inside a container is back after the 10 s restart delay', async () => {
    const [target] = await stack.health();
    const victim = target!.workers[1]!;
    const killed = await docker(['exec', target!.id, 'sh', '-c', `kill -9 ${victim.pid}`]);
    expect(killed.code, killed.stderr).toBe(0);
    const at = Date.now();
    await waitFor(async () => byContainer(await stack.health(), target!.id).workers.find((w) => w.name === victim.name)?.state !== 'ready',
      'the supervisor to notice the death', 10_000, 200);
    const back = await waitFor(async () => {
      const w = byContainer(await stack.health(), target!.id).workers.find((x) => x.name === victim.name);
      return w?.state === 'ready' && w.pid !== victim.pid ? w : undefined;
    }, `${victim.name} to be back`, 40_000, 250);
    const seconds = (Date.now() - at) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(9.5);
    expect(seconds).toBeLessThan(30);
    expect(back.restarts).toBe(1);
    // The other workers of that container were left alone.
    const others = byContainer(await stack.health(), target!.id).workers.filter((w) => w.name !== victim.name);
    expect(others.every((w) => w.restarts === 0 && w.state === 'ready')).toBe(true);
  });

  it('docker kill mid-job, then docker start: stale registrations gone, every job processed', async () => {
    const health = await stack.health();
    const target = health[health.length - 1]!;
    const keys = registryKeys('bouy');
    const ids = await enqueue(24, 4000, 'killed');
    // Wait until the container's workers hold jobs (BullMQ records the worker name on the job).
    await waitFor(async () => {
      for (const job of await queue.getJobs(['active'])) {
        if (job.processedBy?.startsWith(`worker-${target.id}-`)) return true;
      }
      return false;
    }, `${target.container} to hold jobs`, 20_000, 100);
    const oldPids = new Map(target.workers.map((w) => [w.name, w.pid]));

    expect((await docker(['kill', target.id])).code).toBe(0);
    // Its registrations survive the kill: nothing in the container could remove them.
    expect(await redis.exists(keys.worker(target.workers[0]!.name))).toBe(1);

    expect((await docker(['start', target.id])).code).toBe(0);
    const restarted = await waitFor(async () => {
      const report = (await stack.health()).find((r) => r.id === target.id);
      return report?.status === 'healthy' ? report : undefined;
    }, 'the restarted container to be healthy', 60_000, 500);
    // The same names again (same hostname), new processes; nothing left of the old run.
    expect(restarted.workers.map((w) => w.name).sort()).toEqual([...oldPids.keys()].sort());
    const registered = await redis.zrange(keys.index, '0', '-1');
    expect(registered.filter((n) => n.startsWith(`worker-${target.id}-`)).sort()).toEqual([...oldPids.keys()].sort());
    const listed = json<{ workers: Array<{ name: string; pid: number; stale: boolean }> }>(await stack.run(['workers', '--json']));
    for (const w of listed.workers.filter((x) => x.name.startsWith(`worker-${target.id}-`))) {
      expect(w.stale).toBe(false);
      expect(w.pid).toBe(restarted.workers.find((x) => x.name === w.name)!.pid);
    }
    await waitFor(() => allCompleted(ids), 'every job, including those of the killed container, to complete', 90_000, 500);
  });

  it('./bouy down while jobs run: they complete before the containers go', async () => {
    const ids = await enqueue(8, 5000, 'draining');
    await waitFor(async () => (await queue.getActiveCount()) >= 4, 'jobs to be running', 20_000, 100);
    await queue.close();
    redis.disconnect();

    const r = await stack.run(['down'], {}, 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await stack.containers()).toEqual([]);

    // Redis kept its data (AOF volume): bring it back alone and look.
    const again = await stack.run(['up', 'redis', '--no-wait']);
    expect(again.code, again.stderr).toBe(0);
    redis = new Redis(await stack.redisUrl(), { maxRetriesPerRequest: null });
    queue = new Queue('llm', { connection: redis, prefix: 'bull' });
    const states = await Promise.all(ids.map((id) => queue.getJobState(id)));
    // Those that had started finished; those still waiting stay queued for the next start.
    expect(states.filter((s) => s === 'active')).toEqual([]);
    expect(states.filter((s) => s === 'completed').length).toBeGreaterThanOrEqual(4);
    expect(states.every((s) => s === 'completed' || s === 'waiting')).toBe(true);
  });
});

// `curl localhost:8080/health` is how people check a stack: it must keep answering however the
// stack got there. Each worker container has one fixed host port, 8080 for the first.
describe('health ports after up, scale, restart, recreate and down cycles', () => {
  // The cycles take Redis down and up: the sequence's clients would only retry and complain.
  beforeAll(async () => {
    await queue?.close();
    redis?.disconnect();
  });
  const healthPorts = async () => (await stack.containers())
    .filter((c) => c.service === 'worker')
    .map((c) => ({ id: c.id, port: c.ports['8080/tcp'] }))
    .sort((a, b) => (a.port ?? 0) - (b.port ?? 0));
  const ok = async (args: string[], env: Record<string, string> = {}) => {
    const r = await stack.run(args, env);
    expect(r.code, `./bouy ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };

  it('five cycles on one engine; the first container stays on 8080, the others on 8081…', async () => {
    const began = Date.now();
    const step = (cycle: number, what: string) => console.log(`port cycle ${cycle}: ${what} at ${((Date.now() - began) / 1000).toFixed(0)} s`);
    for (let cycle = 1; cycle <= 5; cycle++) {
      await ok(['up', 'worker', '--no-wait'], { WORKER_COUNT: '1' });
      step(cycle, 'up');
      const [first] = await healthPorts();
      expect(first, `cycle ${cycle}: up`).toMatchObject({ port: 8080 });
      await ok(['scale', 'worker=3', '--no-wait']);
      step(cycle, 'scale worker=3');
      expect(await healthPorts(), `cycle ${cycle}: scale worker=3`).toEqual([
        { id: first!.id, port: 8080 }, { id: expect.any(String), port: 8081 }, { id: expect.any(String), port: 8082 },
      ]);
      const ids = (await healthPorts()).map((c) => c.id);
      expect((await docker(['restart', '--time', '5', ...ids])).code).toBe(0);
      step(cycle, 'docker restart');
      expect((await healthPorts()).map((c) => c.port), `cycle ${cycle}: docker restart`).toEqual([8080, 8081, 8082]);
      await ok(['scale', 'worker=1', '--no-wait']);
      step(cycle, 'scale worker=1');
      expect(await healthPorts(), `cycle ${cycle}: scale worker=1`).toEqual([{ id: first!.id, port: 8080 }]);
      // A changed setting recreates the container.
      await ok(['up', 'worker', '--no-wait'], { WORKER_COUNT: '2' });
      step(cycle, 'recreate');
      const recreated = await healthPorts();
      expect(recreated.map((c) => c.port), `cycle ${cycle}: recreate`).toEqual([8080]);
      expect(recreated[0]!.id).not.toBe(first!.id);
      await ok(['down', '--timeout', '5']);
      step(cycle, 'down');
    }
    // Quiet means quiet: nothing of Compose's progress, nothing of ours.
    const quiet = await ok(['up', 'worker', '-q']);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toBe('');
    const [only] = await healthPorts();
    const response = await fetch('http://localhost:8080/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'healthy', hostname: only!.id });
  }, 1_200_000); // five cycles of six compose operations each: minutes on a busy 2-core machine
});

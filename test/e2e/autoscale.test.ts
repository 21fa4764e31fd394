import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { find, kustomize, KUBERNETES } from '../helpers/kubernetes.js';
import { HPA_DEFAULT_SCALE_UP, HPA_TOLERANCE, initialState, step, type Poll, type ScalerSpec } from '../helpers/keda-rules.js';
import { FIXTURES, ROOT } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

// KEDA's and the HPA's rules (test/helpers/keda-rules.ts) driving real worker containers: a
// loop polls the real /backlog of a scheduler container, as KEDA would with the ScaledObject of
// deploy/kubernetes, and applies each decision with `docker-compose up -d --scale worker=N
// --no-recreate`. The scheduler frozen, a 4th failed poll brings the fallback's containers; a burst
// of jobs scales the fleet out from zero; scale-in stops containers with SIGTERM (Compose),
// which drain their jobs; the fleet returns to zero. Its own compose
// file (image, Redis, scheduler, worker): nothing here depends on compose/*.yml or the CLI.

const run = promisify(execFile);
const IMAGE = 'bouy:e2e-autoscale';
const TOKEN = 'autoscale-backlog-token-0123';
const project = `h20aautoscale${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-autoscale-'));
const composeFile = path.join(dir, 'compose.yml');
/** Where the test opens the jobs' gates (autoscale-processor.mjs), mounted into the workers. */
const gates = path.join(dir, 'gates');
/** The test copy of the ScaledObject's timing: seconds where the manifest has minutes. */
const POLL_MS = 2_000;

let compose: { file: string; prefix: string[] };
const composeRun = (args: string[], timeout = 300_000) =>
  run(compose.file, [...compose.prefix, '-p', project, '-f', composeFile, ...args], { timeout, maxBuffer: 16 << 20, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
const dockerRun = (args: string[]) => run('docker', args, { timeout: 60_000, maxBuffer: 16 << 20 });

async function findCompose(): Promise<{ file: string; prefix: string[] }> {
  try {
    await run('docker-compose', ['version', '--short']);
    return { file: 'docker-compose', prefix: [] };
  } catch {
    return { file: 'docker', prefix: ['compose'] };
  }
}

/** The worker containers of the project (full ids), running or not. */
async function workerContainers(): Promise<string[]> {
  const { stdout } = await dockerRun(['ps', '-a', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=worker']);
  return stdout.split('\n').filter(Boolean);
}

async function publishedPort(service: string, port: number): Promise<number> {
  const { stdout } = await composeRun(['port', service, String(port)]);
  return Number(stdout.trim().split(':').at(-1));
}

beforeAll(async () => {
  compose = await findCompose();
  mkdirSync(gates);
  chmodSync(dir, 0o755);
  chmodSync(gates, 0o755); // the containers' user (node, uid 1000) reads it
  writeFileSync(composeFile, `
services:
  redis:
    image: redis:7-bookworm
    command: ["redis-server", "--protected-mode", "no", "--appendonly", "yes", "--appendfsync", "always"]
    ports: ["127.0.0.1::6379"]
    healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: 1s, timeout: 3s, retries: 30 }
  scheduler:
    image: ${IMAGE}
    build: { context: ${JSON.stringify(ROOT)}, dockerfile: docker/Dockerfile, target: runtime }
    command: ["scheduler"]
    environment:
      - REDIS_URL=redis://redis:6379
      - QUEUE_NAME=burst
      - BACKLOG_TOKEN=${TOKEN}
      - LOG_FORMAT=json
    ports: ["127.0.0.1::8080"]
    depends_on: { redis: { condition: service_healthy } }
  worker:
    image: ${IMAGE}
    command: ["worker"]
    environment:
      - REDIS_URL=redis://redis:6379
      - QUEUE_NAME=burst
      - PROCESSOR=/opt/autoscale/processor.mjs
      - WORKER_COUNT=2
      - WORKER_CONCURRENCY=1
      - SHUTDOWN_TIMEOUT_SECONDS=40
      - GATE_DIR=/gates
      - LOG_FORMAT=json
    volumes:
      - "${path.join(FIXTURES, 'autoscale-processor.mjs')}:/opt/autoscale/processor.mjs:ro"
      - "${gates}:/gates:ro"
    # Above the drain: Compose's scale-in sends SIGTERM and waits this long before SIGKILL.
    stop_grace_period: 50s
    depends_on: { redis: { condition: service_healthy } }
`);
  await composeRun(['build', 'scheduler'], 900_000);
  await composeRun(['up', '-d', 'redis', 'scheduler']);
}, 900_000);

afterAll(async () => {
  await composeRun(['down', '-v', '-t', '2']).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('KEDA\'s rules on the real /backlog, scaling real worker containers', () => {
  it('falls back while the metric is away, scales a burst out from zero, drains each container it removes, and returns to zero: every job run once, none lost', async () => {
    const scaled = find(kustomize(KUBERNETES), 'ScaledObject', 'bouy-worker');
    const trigger = scaled.spec.triggers[0];
    // The manifest's numbers, with its minutes shortened to seconds; at most 3 containers on this machine.
    const spec: ScalerSpec = {
      targetValue: Number(trigger.metadata.targetValue),
      activationTargetValue: Number(trigger.metadata.activationTargetValue),
      minReplicaCount: scaled.spec.minReplicaCount,
      maxReplicaCount: 3,
      cooldownPeriodMs: 8_000,
      fallback: { failureThreshold: scaled.spec.fallback.failureThreshold, replicas: scaled.spec.fallback.replicas },
      tolerance: HPA_TOLERANCE,
      scaleUp: { ...HPA_DEFAULT_SCALE_UP, policies: HPA_DEFAULT_SCALE_UP.policies.map((p) => ({ ...p, periodMs: 6_000 })) },
      scaleDown: { stabilizationWindowMs: 6_000, policies: [{ type: 'Pods', value: 1, periodMs: 4_000 }], selectPolicy: 'Max' },
    };
    expect(spec.minReplicaCount).toBe(0);
    const url = new URL(trigger.metadata.url);
    const backlogUrl = `http://127.0.0.1:${await publishedPort('scheduler', 8080)}${url.pathname}?window=${POLL_MS / 1000}`;
    const queue = new Queue('burst', { connection: { host: '127.0.0.1', port: await publishedPort('redis', 6379) } });
    queue.on('error', () => {});
    const poll = async (): Promise<Poll> => {
      try {
        const response = await fetch(backlogUrl, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(1_500) });
        if (!response.ok) return { error: `HTTP ${response.status}` };
        return { value: Number(((await response.json()) as Record<string, unknown>)[trigger.metadata.valueLocation]) };
      } catch (error) {
        return { error: (error as Error).message };
      }
    };

    /** Each container a scale-in removed: when its stop began and ended, and the jobs it ran then. */
    const log: string[] = [];
    const removals: { host: string; startedAt: number; doneAt: number; runningJobs: string[] }[] = [];
    let applied = 0;
    let maxApplied = 0;
    /** Called when a scale-in begins, once the burst is under way. */
    let scaleInStarted: (() => void) | undefined;
    const apply = async (replicas: number) => {
      const before = await workerContainers();
      // The jobs each container runs at this moment (BullMQ's processedBy: worker-<host>-<i>).
      const active = await queue.getActive();
      const startedAt = Date.now();
      if (replicas < applied) scaleInStarted?.();
      await composeRun(['up', '-d', '--no-recreate', '--scale', `worker=${replicas}`, 'worker']);
      const after = new Set(await workerContainers());
      for (const id of before.filter((c) => !after.has(c))) {
        const host = id.slice(0, 12);
        removals.push({ host, startedAt, doneAt: Date.now(), runningJobs: active.filter((j) => j.processedBy?.startsWith(`worker-${host}-`)).map((j) => j.id!) });
      }
      applied = replicas;
      maxApplied = Math.max(maxApplied, replicas);
    };
    const open = (gate: string) => writeFileSync(path.join(gates, gate), '');
    const hostOf = (processedBy: string | undefined) => /^worker-([0-9a-f]{12})-\d+$/.exec(processedBy ?? '')?.[1];

    // The scheduler up first: failed polls would (rightly) bring the fallback's 2 containers.
    await waitFor(async () => 'value' in await poll(), 'the scheduler\'s /backlog to answer', 60_000, 500);

    // The autoscaler: a poll every POLL_MS, each decision applied in order (a scale-in waits for
    // its containers' drain, as Compose stops them; meanwhile the polls go on).
    let state = initialState(0);
    let stop = false;
    let applying: Promise<void> = Promise.resolve();
    const history: number[] = [];
    const loop = (async () => {
      while (!stop) {
        const decision = step(spec, state, await poll(), Date.now());
        state = decision.state;
        if (decision.replicas !== history.at(-1)) log.push(`${new Date().toISOString().slice(11, 19)} → ${decision.replicas}: ${decision.reason}`);
        history.push(decision.replicas);
        applying = applying.then(async () => { if (state.replicas !== applied) await apply(state.replicas); });
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    })();

    let gated: string[];
    try {
      // Idle: zero containers.
      await waitFor(() => history.length >= 2, 'two polls');
      expect(await workerContainers()).toEqual([]);

      // The metric unreachable (the scheduler frozen: KEDA's requests time out): once more than 3
      // polls in a row have failed, the fallback's containers; once it answers again (0), back to zero.
      await dockerRun(['pause', (await composeRun(['ps', '-q', 'scheduler'])).stdout.trim()]);
      try {
        await waitFor(() => applied === spec.fallback!.replicas, 'the fallback replicas', 90_000, 200);
        expect(state.failures).toBeGreaterThan(spec.fallback!.failureThreshold);
      } finally {
        await dockerRun(['unpause', (await composeRun(['ps', '-q', 'scheduler'])).stdout.trim()]);
      }
      await waitFor(async () => applied === 0 && (await workerContainers()).length === 0, 'zero containers after the fallback', 90_000, 500);
      removals.length = 0;
      const firstScaleIn = new Promise<void>((resolve) => { scaleInStarted = resolve; });

      // The burst: 12 short jobs, then 6 that run until the test opens their gates. 18 slots
      // wanted: the fleet scales out to its maximum, 3 containers × 2 workers.
      const jobs = await queue.addBulk([
        ...Array.from({ length: 12 }, (_, i) => ({ name: 'short', data: { ms: 1_000, i } })),
        ...Array.from({ length: 6 }, (_, i) => ({ name: 'gated', data: { gate: `g${i}` } })),
      ]);
      gated = jobs.filter((j) => j.name === 'gated').map((j) => j.id!);
      await waitFor(() => maxApplied === spec.maxReplicaCount, 'the fleet to scale out to its maximum', 120_000, 200);
      // Each of the 6 workers (concurrency 1) ends up holding one gated job: 2 per container.
      const running = await waitFor(async () => {
        const active = await queue.getActive();
        return active.length === 6 && active.every((j) => j.name === 'gated') && active;
      }, 'the 6 gated jobs to run, one per worker', 120_000, 250);
      const perHost = new Map<string, typeof running>();
      for (const job of running) perHost.set(hostOf(job.processedBy)!, [...(perHost.get(hostOf(job.processedBy)!) ?? []), job]);
      expect([...perHost.values()].map((list) => list.length)).toEqual([2, 2, 2]);
      // One gate per container: 3 slots busy, one on every container, so the scale-in to
      // ⌈3 / 2⌉ = 2 (after the stabilization window) stops a container running a job.
      for (const list of perHost.values()) open(list[0]!.data.gate);
      await firstScaleIn;
      // SIGTERM has reached it (Compose stops it); its job ends within its drain.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      for (const list of perHost.values()) open(list[1]!.data.gate);
      await waitFor(async () => (await queue.getJobCounts('completed')).completed === jobs.length, 'every job to complete', 120_000, 500);
      await waitFor(async () => applied === 0 && (await workerContainers()).length === 0, 'the fleet back to zero containers', 120_000, 500);
    } finally {
      stop = true;
      await loop;
      await applying;
      console.log(`autoscaler decisions:\n  ${log.join('\n  ')}\nremovals: ${JSON.stringify(removals)}`);
    }

    // 0 lost, every job run once, on more than one container.
    const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed', 'prioritized');
    expect(counts).toEqual({ completed: 18, failed: 0, waiting: 0, active: 0, delayed: 0, prioritized: 0 });
    const completed = await queue.getCompleted(0, -1);
    expect(completed.map((j) => j.attemptsStarted)).toEqual(completed.map(() => 1));
    const hostRan = (job: (typeof completed)[number]) => (job.returnvalue as { host: string }).host;
    expect(new Set(completed.map(hostRan)).size).toBe(3);
    // Every container was removed in the end, each after the jobs it ran had finished.
    expect(removals).toHaveLength(3);
    for (const removal of removals) {
      for (const job of completed.filter((j) => hostRan(j) === removal.host)) {
        expect(job.finishedOn!, `job ${job.id} on ${removal.host}`).toBeLessThanOrEqual(removal.doneAt);
      }
    }
    // The first scale-in stopped a container while a gated job ran on it: the job was not
    // cut off or handed back (run once, above) but finished in the container's drain.
    const drained = removals[0]!;
    expect(drained.runningJobs).toHaveLength(1);
    const job = completed.find((j) => j.id === drained.runningJobs[0])!;
    expect(gated).toContain(job.id);
    expect(hostRan(job)).toBe(drained.host);
    expect(job.finishedOn!).toBeGreaterThan(drained.startedAt + 2_000);
    expect(job.finishedOn!).toBeLessThanOrEqual(drained.doneAt);
    console.log(`drained: job ${job.id} finished ${job.finishedOn! - drained.startedAt} ms after its container's stop began; the stop took ${drained.doneAt - drained.startedAt} ms`);
    await queue.close();
  });
});

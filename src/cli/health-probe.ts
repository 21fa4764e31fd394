import type { ContainerInfo } from './docker.js';
import { dockerBin } from './docker.js';
import { capture, type Env } from './process.js';

/** One container's answer to GET /health, as the `health` table and `up --wait` need it. */
export interface HealthReport {
  container: string;
  id: string;
  service: string;
  /** The host port asked (compose), or the port inside the container (swarm: asked through docker exec). */
  port: number;
  /** How /health was reached: a published port of this host, or `docker exec` into the task. */
  via: 'published' | 'exec';
  /** healthy, degraded, unhealthy (from the body), or unreachable. */
  status: string;
  http: number | null;
  workers_ready: number;
  worker_count: number;
  restarts: number;
  /** Whether this supervisor holds the fleet's leader lease (its /health says so). */
  leader: boolean;
  workers: Array<{ name: string; state: string; restarts: number; pid: number | null; jobs_completed: number; jobs_failed: number }>;
  error?: string;
}

interface HealthBody {
  status?: string;
  workers_ready?: number;
  worker_count?: number;
  leader?: boolean;
  workers?: Array<{ name?: string; state?: string; restarts?: number; pid?: number | null; jobs_completed?: number; jobs_failed?: number }>;
}

export const HEALTH_PORT = '8080/tcp';
/** The health server's port inside a container (HEALTH_PORT's default; nothing else binds it there). */
const CONTAINER_HEALTH_PORT = 8080;

/** Containers that publish the health port, i.e. the ones `health` can ask. */
export function healthTargets(containers: readonly ContainerInfo[]): ContainerInfo[] {
  return containers.filter((c) => c.state === 'running' && c.ports[HEALTH_PORT] !== undefined);
}

type Base = Pick<HealthReport, 'container' | 'id' | 'service' | 'port' | 'via'>;

function report(base: Base, http: number, body: HealthBody): HealthReport {
  const workers = (body.workers ?? []).map((w) => ({
    name: w.name ?? '?', state: w.state ?? '?', restarts: w.restarts ?? 0, pid: w.pid ?? null,
    jobs_completed: w.jobs_completed ?? 0, jobs_failed: w.jobs_failed ?? 0,
  }));
  return {
    ...base,
    status: body.status ?? (http >= 200 && http < 300 ? 'healthy' : 'unhealthy'),
    http,
    workers_ready: body.workers_ready ?? 0,
    worker_count: body.worker_count ?? workers.length,
    restarts: workers.reduce((sum, w) => sum + w.restarts, 0),
    leader: body.leader === true,
    workers,
  };
}

function unreachable(base: Base, error: string): HealthReport {
  return { ...base, status: 'unreachable', http: null, workers_ready: 0, worker_count: 0, restarts: 0, leader: false, workers: [], error };
}

/**
 * A worker container that should run and does not (stopped, exited, restarting): its state as
 * the status, so `health` lists it and fails. Port: the one it is bound to (0 when none).
 */
export function notRunning(container: ContainerInfo): HealthReport {
  const base: Base = { container: container.name, id: container.id, service: container.service, port: container.ports[HEALTH_PORT] ?? 0, via: 'published' };
  return { ...unreachable(base, `container ${container.state} (exit ${container.exitCode})`), status: container.state };
}

export async function probeHealth(container: ContainerInfo, timeoutMs = 3000): Promise<HealthReport> {
  const port = container.ports[HEALTH_PORT]!;
  const base: Base = { container: container.name, id: container.id, service: container.service, port, via: 'published' };
  // A timer of our own, not AbortSignal.timeout(): that one is unref'd, and fetch's socket to
  // a published port whose container is not listening yet can be too, so the process would
  // exit mid-wait with nothing said.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: controller.signal });
    return report(base, response.status, (await response.json()) as HealthBody);
  } catch (error) {
    return unreachable(base, (error as Error).message);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Asks a container's /health from inside it (`docker exec … node`), for Swarm tasks, which
 * publish no health port (see compose/stack.yml). The image has Node and no curl; the script
 * prints `{http, body}` and exits 1 when the server does not answer within `timeoutMs`.
 */
export async function probeHealthByExec(env: Env, container: ContainerInfo, timeoutMs = 3000): Promise<HealthReport> {
  const base: Base = { container: container.name, id: container.id, service: container.service, port: CONTAINER_HEALTH_PORT, via: 'exec' };
  const script = `fetch('http://127.0.0.1:${CONTAINER_HEALTH_PORT}/health', { signal: AbortSignal.timeout(${timeoutMs}) })`
    + '.then(async (r) => process.stdout.write(JSON.stringify({ http: r.status, body: await r.json() })))'
    + '.catch((e) => { process.stderr.write(String(e && e.message)); process.exitCode = 1; })';
  const result = await capture(dockerBin(env), ['exec', container.id, 'node', '-e', script], env);
  if (result.code !== 0) return unreachable(base, result.stderr.trim().split('\n')[0] || `docker exec exit ${result.code}`);
  try {
    const answer = JSON.parse(result.stdout) as { http: number; body: HealthBody };
    return report(base, answer.http, answer.body);
  } catch {
    return unreachable(base, `not JSON from /health: ${result.stdout.slice(0, 200)}`);
  }
}

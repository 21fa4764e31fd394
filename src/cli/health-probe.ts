import type { ContainerInfo } from './docker.js';

/** One container's answer to GET /health, as the `health` table and `up --wait` need it. */
export interface HealthReport {
  container: string;
  id: string;
  service: string;
  port: number;
  /** healthy, degraded, unhealthy (from the body), or unreachable. */
  status: string;
  http: number | null;
  workers_ready: number;
  worker_count: number;
  restarts: number;
  workers: Array<{ name: string; state: string; restarts: number; pid: number | null; jobs_completed: number; jobs_failed: number }>;
  error?: string;
}

interface HealthBody {
  status?: string;
  workers_ready?: number;
  worker_count?: number;
  workers?: Array<{ name?: string; state?: string; restarts?: number; pid?: number | null; jobs_completed?: number; jobs_failed?: number }>;
}

export const HEALTH_PORT = '8080/tcp';

/** Containers that publish the health port, i.e. the ones `health` can ask. */
export function healthTargets(containers: readonly ContainerInfo[]): ContainerInfo[] {
  return containers.filter((c) => c.state === 'running' && c.ports[HEALTH_PORT] !== undefined);
}

export async function probeHealth(container: ContainerInfo, timeoutMs = 3000): Promise<HealthReport> {
  const port = container.ports[HEALTH_PORT]!;
  const base = { container: container.name, id: container.id, service: container.service, port };
  // A timer of our own, not AbortSignal.timeout(): that one is unref'd, and fetch's socket to
  // a published port whose container is not listening yet can be too, so the process would
  // exit mid-wait with nothing said.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: controller.signal });
    const body = (await response.json()) as HealthBody;
    const workers = (body.workers ?? []).map((w) => ({
      name: w.name ?? '?', state: w.state ?? '?', restarts: w.restarts ?? 0, pid: w.pid ?? null,
      jobs_completed: w.jobs_completed ?? 0, jobs_failed: w.jobs_failed ?? 0,
    }));
    return {
      ...base,
      status: body.status ?? (response.ok ? 'healthy' : 'unhealthy'),
      http: response.status,
      workers_ready: body.workers_ready ?? 0,
      worker_count: body.worker_count ?? workers.length,
      restarts: workers.reduce((sum, w) => sum + w.restarts, 0),
      workers,
    };
  } catch (error) {
    return { ...base, status: 'unreachable', http: null, workers_ready: 0, worker_count: 0, restarts: 0, workers: [], error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

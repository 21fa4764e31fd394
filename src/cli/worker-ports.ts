/**
 * Health ports that stay put: the first worker container answers on 8080, the next ones on
 * 8081, 8082, … and keep their port across restarts, recreates and scaling.
 *
 * Why not `ports: "8080-8089:8080"`: the engine hands out a published range in rotation (each
 * allocation starts after the previous one), so every start, restart or recreate moved the
 * port (8083, 8084, …) and 8080 answered nothing. Compose (v1 or v2) cannot give each replica
 * of one service its own port, and replicas are created and restarted in parallel, so any
 * range, however narrow, leaves which container gets which port to chance.
 *
 * So the port is fixed per container: compose/base.yml publishes `${BOUY_HEALTH_PORT:-8080}`,
 * and bouy creates worker containers one compose call at a time, each with the lowest port of
 * BOUY_HEALTH_PORTS (8080-8089) that no container of the project holds. A restart (docker,
 * engine, restart policy) binds the same single port again. Scaling down removes the
 * containers on the highest ports, so the first one keeps 8080. `up` recreates only the
 * container on the first port (when its settings changed) and adds the others afresh.
 * Plain Compose gets the same single 8080 for one worker; more need BOUY_HEALTH_PORT per call.
 * Each pool's service (`worker-<pool>`, pools.ts) does the same on its own range and variable
 * (BOUY_HEALTH_PORT_<POOL>), so two worker services never compete for a port.
 */
import { BouyError, EXIT } from '../errors.js';
import { keepLowest, nextPort, type WorkerContainer } from './health-port-range.js';
import type { Mode } from './compose.js';
import type { Context } from './context.js';
import { dockerBin } from './docker.js';
import type { WorkerService } from './pools.js';
import { capture } from './process.js';

/** compose/base.yml's stop_grace_period for workers, so a removed container drains as in `down`. */
const WORKER_STOP_SECONDS = 35;

interface Inspected {
  Id: string;
  Config: { Labels: Record<string, string> | null };
  HostConfig: { PortBindings: Record<string, Array<{ HostPort: string }> | null> | null };
  NetworkSettings: { Ports: Record<string, Array<{ HostPort: string }> | null> | null };
}

/** A worker service's containers in the project, stopped ones too (they get their port back on start). */
export async function workerContainers(ctx: Context, service: string): Promise<WorkerContainer[]> {
  const env = ctx.env;
  const ps = await capture(dockerBin(env), ['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${ctx.project}`,
    '--filter', `label=com.docker.compose.service=${service}`], env);
  const ids = ps.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  if (ps.code !== 0 || ids.length === 0) return [];
  const inspected = await capture(dockerBin(env), ['inspect', ...ids], env);
  const list = inspected.stdout.trim() ? (JSON.parse(inspected.stdout) as Inspected[]) : [];
  return list.map((c) => {
    // The configured binding (a stopped container has no live one); a container from before
    // fixed ports was bound to a range, so its live port is what it holds.
    const configured = c.HostConfig.PortBindings?.['8080/tcp']?.[0]?.HostPort ?? '';
    const live = c.NetworkSettings.Ports?.['8080/tcp']?.find((b) => b.HostPort)?.HostPort;
    const port = /^\d+$/.test(configured) ? Number(configured) : live ? Number(live) : undefined;
    return { id: c.Id.slice(0, 12), number: Number(c.Config.Labels?.['com.docker.compose.container-number'] ?? 0), port };
  });
}

/** Stops (letting the workers drain, as `down` does) and removes worker containers; the exit status. */
async function removeWorkers(ctx: Context, containers: readonly WorkerContainer[]): Promise<number> {
  if (containers.length === 0) return EXIT.ok;
  const ids = containers.map((c) => c.id);
  ctx.out.info(`removing ${ids.length} worker container(s) (port ${containers.map((c) => c.port ?? '-').join(', ')}); their jobs finish first`);
  ctx.out.debug(`running: docker stop --time ${WORKER_STOP_SECONDS} ${ids.join(' ')} && docker rm ${ids.join(' ')}`);
  const stopped = await capture(dockerBin(ctx.env), ['stop', '--time', String(WORKER_STOP_SECONDS), ...ids], ctx.env);
  const removed = await capture(dockerBin(ctx.env), ['rm', '--force', ...ids], ctx.env);
  if (removed.code !== 0) ctx.out.error(`could not remove worker container(s) ${ids.join(', ')}: ${(removed.stderr || stopped.stderr).trim()}`);
  return removed.code === 0 ? EXIT.ok : EXIT.failure;
}

/** A worker service and how many containers of it are wanted. */
export interface WorkerTarget {
  service: WorkerService;
  count: number;
}

/**
 * Brings each worker service (`worker`, and pools' `worker-<pool>`) to its count of containers,
 * each on its own fixed health port from that service's range, and starts `services` (all when
 * empty) with them. `keep` (`./bouy scale`): the containers on the lowest ports stay as they
 * are. Otherwise (`./bouy up`) only the container on a service's first port stays, recreated by
 * Compose if its settings changed (the others would be recreated with the first port, so they
 * are replaced). `upArgs`: flags for the first compose call (--build, …).
 */
export async function upWithWorkers(ctx: Context, mode: Mode, options: {
  targets: readonly WorkerTarget[]; keep: boolean; upArgs: readonly string[]; services: readonly string[];
}): Promise<number> {
  const plans = [];
  for (const target of options.targets) {
    const { ports: range } = target.service;
    const existing = await workerContainers(ctx, target.service.service);
    const candidates = options.keep ? existing : existing.filter((c) => c.port === range.low);
    const { keep } = keepLowest(candidates, options.keep ? target.count : Math.min(1, target.count));
    const removed = await removeWorkers(ctx, existing.filter((c) => !keep.includes(c)));
    if (removed !== EXIT.ok) return removed;
    // The first call creates the first container of each service if none is kept.
    plans.push({ target, running: Math.max(keep.length, Math.min(1, target.count)), firstPort: options.keep ? nextPort(range, keep) ?? range.low : range.low });
  }
  const up = (scales: ReadonlyArray<readonly [string, number]>, env: Record<string, string>, args: readonly string[], services: readonly string[]) => ctx.runCompose(
    ['up', '-d', ...args, ...scales.flatMap(([service, n]) => ['--scale', `${service}=${n}`]), ...services], mode, { env, progress: true });
  // One call starts the other services and every worker service's first container.
  let code = await up(plans.map((p) => [p.target.service.service, p.running] as const),
    Object.fromEntries(plans.map((p) => [p.target.service.portVariable, String(p.firstPort)])),
    [...(options.keep ? ['--no-recreate'] : []), ...options.upArgs], options.services);
  for (const plan of plans) {
    const { service, portVariable, ports: range } = plan.target.service;
    while (code === 0 && plan.running < plan.target.count) {
      const port = nextPort(range, await workerContainers(ctx, service));
      if (port === undefined) {
        throw new BouyError('BOUY_ERR_NO_FREE_PORT', `no free health port for another ${service} container: its range is ${range.low}-${range.high}`, {
          hint: service === 'worker' ? 'widen BOUY_HEALTH_PORTS, or raise WORKER_COUNT for more processes per container' : 'give the pool a wider range (`bouy pool add … --health-ports LOW-HIGH`), or more workers per container',
        });
      }
      plan.running++;
      code = await up([[service, plan.running]], { [portVariable]: String(port) }, ['--no-recreate'], [service]);
    }
  }
  return code;
}

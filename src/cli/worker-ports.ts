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
 */
import { BouyError, EXIT } from '../errors.js';
import { healthPortRange, keepLowest, nextPort, type WorkerContainer } from './health-port-range.js';
import type { Mode } from './compose.js';
import type { Context } from './context.js';
import { dockerBin } from './docker.js';
import { capture } from './process.js';

export const WORKER_SERVICE = 'worker';
/** compose/base.yml's stop_grace_period for workers, so a removed container drains as in `down`. */
const WORKER_STOP_SECONDS = 35;

interface Inspected {
  Id: string;
  Config: { Labels: Record<string, string> | null };
  HostConfig: { PortBindings: Record<string, Array<{ HostPort: string }> | null> | null };
  NetworkSettings: { Ports: Record<string, Array<{ HostPort: string }> | null> | null };
}

/** The project's worker containers, stopped ones too (they get their port back on start). */
export async function workerContainers(ctx: Context): Promise<WorkerContainer[]> {
  const env = ctx.env;
  const ps = await capture(dockerBin(env), ['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${ctx.project}`,
    '--filter', `label=com.docker.compose.service=${WORKER_SERVICE}`], env);
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

/**
 * Brings the worker service to `count` containers, each on its own fixed health port, and
 * starts `services` (all when empty) with it. `keep` (`./bouy scale`): the containers on the
 * lowest ports stay as they are. Otherwise (`./bouy up`) only the container on the first port
 * stays, recreated by Compose if its settings changed (the others would be recreated with the
 * first port, so they are replaced). `upArgs`: flags for the first compose call (--build, …).
 */
export async function upWithWorkers(ctx: Context, mode: Mode, options: {
  count: number; keep: boolean; upArgs: readonly string[]; services: readonly string[];
}): Promise<number> {
  const range = healthPortRange(ctx.env);
  const existing = await workerContainers(ctx);
  const candidates = options.keep ? existing : existing.filter((c) => c.port === range.low);
  const { keep } = keepLowest(candidates, options.keep ? options.count : Math.min(1, options.count));
  const removed = await removeWorkers(ctx, existing.filter((c) => !keep.includes(c)));
  if (removed !== EXIT.ok) return removed;
  // The first call starts the other services too, and creates the first worker if none is kept.
  let running = Math.max(keep.length, Math.min(1, options.count));
  const up = (scale: number, port: number, args: readonly string[], services: readonly string[]) => ctx.runCompose(
    ['up', '-d', ...args, '--scale', `${WORKER_SERVICE}=${scale}`, ...services], mode,
    { env: { BOUY_HEALTH_PORT: String(port) }, progress: true });
  let code = await up(running, options.keep ? nextPort(range, keep) ?? range.low : range.low,
    [...(options.keep ? ['--no-recreate'] : []), ...options.upArgs], options.services);
  while (code === 0 && running < options.count) {
    const port = nextPort(range, await workerContainers(ctx));
    if (port === undefined) {
      throw new BouyError('BOUY_ERR_NO_FREE_PORT', `no free health port for another worker container: BOUY_HEALTH_PORTS=${range.low}-${range.high}`, {
        hint: 'widen BOUY_HEALTH_PORTS, or raise WORKER_COUNT for more processes per container',
      });
    }
    running++;
    code = await up(running, port, ['--no-recreate'], [WORKER_SERVICE]);
  }
  return code;
}

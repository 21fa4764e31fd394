import { BouyError, EXIT } from '../../errors.js';
import type { BouyCommand } from '../command.js';
import { scaleStack } from './deploy.js';
import { parseScale, type Context } from '../context.js';
import type { ContainerInfo } from '../docker.js';
import { healthTargets, probeHealth, type HealthReport } from '../health-probe.js';
import { table } from '../output.js';
import { describeLogin, ensureStackSecrets, loginOf } from '../stack-credentials.js';
import { envFile } from '../dotenv.js';
import { assertImageSource } from '../project-image.js';
import { rememberProjectName } from '../project.js';
import { describeStackFailure, isDown } from '../stack-failure.js';
import { isWorkerService, workerServiceNamed, workerServices, type WorkerService } from '../pools.js';
import { upWithWorkers, type WorkerTarget } from '../worker-ports.js';

const POLL_MS = 500;

/**
 * Polls every worker container's /health until all say healthy, or the deadline passes; a
 * worker container that went down meanwhile ends it at once (`failure`: what to tell).
 */
async function waitHealthy(ctx: Context, timeoutS: number): Promise<{ reports: HealthReport[]; seconds: number; failure?: string }> {
  const started = Date.now();
  let reports: HealthReport[] = [];
  // A worker container that exits or restarts while we wait ends the wait at once, with its
  // last lines: a crash loop (a bad PROCESSOR exits 64 on every start) never turns healthy.
  const workersOf = async () => (await ctx.containers({ all: true })).filter((c) => isWorkerService(c.service));
  const baseline = new Map((await workersOf()).map((c) => [c.id, c.restarts]));
  for (;;) {
    const down = (await workersOf()).filter((c) => isDown(c, baseline));
    if (down.length > 0) return { reports, seconds: elapsed(started), failure: await describeStackFailure(ctx, down) };
    const containers = await ctx.containers();
    const targets = healthTargets(containers);
    // Only Redis was started (`up redis`): there is no health to wait for.
    if (targets.length === 0 && !containers.some((c) => isWorkerService(c.service))) break;
    reports = await Promise.all(targets.map((c) => probeHealth(c, 2000)));
    ctx.out.debug(`health: ${reports.map((r) => `${r.container} ${r.status} ${r.workers_ready}/${r.worker_count}`).join(', ') || 'no health port yet'}`);
    if (reports.length > 0 && reports.every((r) => r.status === 'healthy')) break;
    if (Date.now() - started > timeoutS * 1000) {
      const detail = reports.map((r) => `${r.container}: ${r.status} ${r.workers_ready}/${r.worker_count}`).join(', ') || 'no container publishes a health port';
      throw new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `the stack is not healthy after ${timeoutS} s (${detail})`, {
        hint: 'see why with `./bouy logs worker`; raise --wait-timeout if the image is slow to start',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { reports, seconds: elapsed(started) };
}

function elapsed(since: number): number {
  return Math.round((Date.now() - since) / 100) / 10;
}

function summary(containers: ContainerInfo[], reports: HealthReport[]): string {
  const byId = new Map(reports.map((r) => [r.id, r]));
  const rows = containers.map((c) => {
    const health = byId.get(c.id);
    return [
      c.name, c.service, c.state,
      Object.entries(c.ports).map(([inner, host]) => `${host}->${inner}`).join(', ') || '-',
      health ? `${health.status} ${health.workers_ready}/${health.worker_count} workers  http://localhost:${health.port}/health` : c.health || '-',
    ];
  });
  return table(['CONTAINER', 'SERVICE', 'STATE', 'PORTS', 'HEALTH'], rows);
}

/**
 * The worker services to bring to a count: each one scaled, and (for `up`) each one started,
 * all of them when no service is named, one container each unless scaled.
 */
export function workerTargets(services: readonly WorkerService[], scales: ReadonlyArray<{ service: string; count: number }>,
  options: { services: readonly string[]; noRecreate: boolean }): WorkerTarget[] {
  const started = options.noRecreate ? [] : services.filter((s) => options.services.length === 0 || options.services.includes(s.service));
  const scaled = scales.filter((s) => isWorkerService(s.service)).map((s) => workerServiceNamed(services, s.service));
  const named = options.services.filter((s) => isWorkerService(s)).map((s) => workerServiceNamed(services, s));
  return [...new Set([...started, ...scaled, ...named])].map((service) => ({
    service, count: scales.find((s) => s.service === service.service)?.count ?? 1,
  }));
}

/** `up` and `scale` share this: compose up detached, then wait for health and summarise. */
export async function startStack(ctx: Context, options: {
  services: string[]; scale: string[]; build: boolean; wait: boolean; waitTimeout: number; noRecreate: boolean;
}): Promise<number> {
  const workerServicesHere = workerServices(ctx.root, ctx.env);
  const scales = options.scale.map((s) => parseScale(s, workerServicesHere));
  // Worker containers get one fixed health port each (see worker-ports.ts): `up` of the
  // workers (one container per worker service unless --scale says otherwise, as in Compose)
  // and `scale worker=N` / `scale worker-<pool>=N` go there. Checked before Docker is asked.
  const targets = workerTargets(workerServicesHere, scales, options);
  const mode = await ctx.mode();
  await assertImageSource(ctx, options.build);
  for (const line of rememberProjectName(ctx.root, envFile(ctx.root, ctx.env), ctx.env, ctx.project)) ctx.out.info(line);
  ctx = ensureStackSecrets(ctx, options.services);
  const workerCount = ctx.env.WORKER_COUNT ?? '1';
  ctx.out.info(`starting ${options.services.join(', ') || 'the stack'} (project ${ctx.project}, ${mode} mode, WORKER_COUNT=${workerCount}); builds the image if it is missing`);
  const upArgs = [...(options.build ? ['--build'] : []),
    ...scales.filter((s) => !isWorkerService(s.service)).flatMap((s) => ['--scale', `${s.service}=${s.count}`])];
  const code = targets.length > 0
    ? await upWithWorkers(ctx, mode, { targets, keep: options.noRecreate, upArgs, services: options.services })
    : await ctx.runCompose(['up', '-d', ...(options.noRecreate ? ['--no-recreate'] : []), ...upArgs, ...options.services], mode, { progress: true });
  if (code !== 0) {
    ctx.out.error(`docker compose up failed (exit ${code})`);
    return code;
  }
  const waited = options.wait ? await waitHealthy(ctx, options.waitTimeout) : { reports: [], seconds: null };
  if ('failure' in waited && waited.failure) {
    ctx.out.error(waited.failure);
    return EXIT.failure;
  }
  const containers = await ctx.containers();
  const login = loginOf(containers, ctx);
  ctx.out.result(
    { project: ctx.project, mode, healthy_after_s: waited.seconds, containers, health: waited.reports, login },
    () => summary(containers, waited.reports) + (waited.seconds === null ? '' : `\n\nhealthy after ${waited.seconds} s`)
      + (login.dashboard || login.api ? `\n\n${describeLogin(login)}` : ''),
  );
  return EXIT.ok;
}

const waitOptions = {
  wait: { type: 'boolean', default: true, describe: 'wait until every worker container\'s /health says healthy (--no-wait to return at once)' },
  'wait-timeout': { type: 'number', default: 180, describe: 'seconds to wait for health before failing' },
} as const;

export const up: BouyCommand = {
  command: 'up [services..]',
  describe: 'start the stack (or the services named) detached; builds the image when needed',
  builder: (y) => y
    .positional('services', { type: 'string', array: true, describe: 'services to start (with what they depend on)' })
    .options({
      scale: { type: 'string', array: true, default: [], describe: 'SERVICE=N containers of a service' },
      build: { type: 'boolean', default: false, describe: 'rebuild the image first' },
      ...waitOptions,
    })
    .example('$0 up worker', 'Redis and one worker container (WORKER_COUNT from the environment or .env)')
    .example('WORKER_COUNT=4 $0 up worker', 'four worker processes in the container; the inline value wins over .env')
    .example('$0 up --prod --scale worker=3', 'production overlay, three worker containers (health on 8080, 8081, 8082: one fixed port each)'),
  run: (ctx, args) => startStack(ctx, {
    services: (args.services as string[] | undefined) ?? [],
    scale: args.scale as string[],
    build: args.build as boolean,
    wait: args.wait as boolean,
    waitTimeout: args['wait-timeout'] as number,
    noRecreate: false,
  }),
};

export const scale: BouyCommand = {
  command: 'scale <scales..>',
  describe: 'run N containers of a service (running ones are kept as they are; fewer: those on the highest health ports go)',
  builder: (y) => y
    .positional('scales', { type: 'string', array: true, describe: 'SERVICE=N, e.g. worker=3' })
    .options({ ...waitOptions, stack: { type: 'string', describe: 'scale this swarm stack\'s services instead (docker service scale)' } })
    .example('$0 scale worker=3', 'three worker containers, health on 8080 (the first), 8081 and 8082')
    .example('$0 scale worker=1', 'back to one')
    .example('$0 scale worker-thumbnails=3', 'three containers of pool thumbnails (`bouy pool add`), on its own health ports')
    .example('$0 scale --stack bouy worker-thumbnails=3', 'the same on Docker Swarm: three tasks of bouy_worker-thumbnails'),
  run: (ctx, args) => args.stack !== undefined
    ? scaleStack(ctx, args.stack, args.scales as string[], { wait: args.wait as boolean, timeoutS: args['wait-timeout'] as number }) : startStack(ctx, {
    // Only the services scaled (and what they depend on), not the whole stack.
    services: (args.scales as string[]).map((s) => s.split('=')[0]!),
    scale: args.scales as string[],
    build: false,
    wait: args.wait as boolean,
    waitTimeout: args['wait-timeout'] as number,
    noRecreate: true,
  }),
};

import path from 'node:path';
import { BouyError, EXIT } from '../../errors.js';
import type { Args, BouyCommand } from '../command.js';
import type { Context } from '../context.js';
import { assertEngine, dockerBin } from '../docker.js';
import { probeHealthByExec, type HealthReport } from '../health-probe.js';
import { table } from '../output.js';
import { attach, capture, type Env } from '../process.js';
import { isWorkerService, poolsFile, stackPoolsFile } from '../pools.js';
import { ensureStackSecrets } from '../stack-credentials.js';
import {
  assertSwarmManager, resolveImageMode, stackContainers, stackDeployArgs, stackHasContainers, stackName, stackServices, type StackService,
} from '../swarm.js';

const POLL_MS = 1000;
export const MAX_REPLICAS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function nameOf(ctx: Context, args: Args): string {
  return stackName(args.name ?? ctx.project, '--name');
}

function replicasOf(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_REPLICAS) {
    throw new BouyError('BOUY_ERR_USAGE', `--replicas ${JSON.stringify(value)} is not valid: a whole number 1-${MAX_REPLICAS} (worker tasks; WORKER_COUNT processes in each)`);
  }
  return value;
}

/** Progress of a docker command on stderr (stdout is the result's, for --json); silent with --quiet unless it fails. */
async function runDocker(ctx: Context, args: readonly string[], env: Env = ctx.env): Promise<number> {
  ctx.out.debug(`running: ${dockerBin(env)} ${args.join(' ')}`);
  if (ctx.args.quiet) {
    const result = await capture(dockerBin(env), args, env);
    if (result.code !== 0) process.stderr.write(result.stdout + result.stderr);
    return result.code;
  }
  return attach(dockerBin(env), args, env, { stdout: 'stderr', cwd: ctx.root });
}

/**
 * `docker stack deploy` ignores `build:`, so the image is built here when it is missing (or
 * with --build): the runtime target, by the classic builder unless DOCKER_BUILDKIT says
 * otherwise (engines without buildx have only that one; where buildx exists both work).
 */
async function ensureImage(ctx: Context, image: string, force: boolean): Promise<void> {
  const present = (await capture(dockerBin(ctx.env), ['image', 'inspect', '--format', '{{.Id}}', image], ctx.env)).code === 0;
  if (present && !force) return;
  ctx.out.info(`building ${image} (docker/Dockerfile, runtime target)${present ? '' : ': it is missing'}`);
  const code = await runDocker(ctx, ['build', '-f', path.join(ctx.root, 'docker', 'Dockerfile'), '--target', 'runtime', '-t', image, ctx.root], { DOCKER_BUILDKIT: '0', ...ctx.env });
  if (code !== 0) throw new BouyError('BOUY_ERR_INTERNAL', `docker build of ${image} failed (exit ${code})`, { hint: 'the build output above says why' });
}

/** Every service at its desired count and every worker task on this node answering healthy. */
async function waitConverged(ctx: Context, stack: string, timeoutS: number, scaledToZero: readonly string[] = []): Promise<{ services: StackService[]; health: HealthReport[]; seconds: number }> {
  const started = Date.now();
  for (;;) {
    const services = await stackServices(ctx.env, stack);
    const tasks = (await stackContainers(ctx.env, stack)).filter((c) => isWorkerService(c.service) && c.state === 'running');
    const health = await Promise.all(tasks.map((c) => probeHealthByExec(ctx.env, c, 2000)));
    // desired 0 only where asked for (`scale … =0`): right after a deploy a service can show 0/0 for a moment.
    const converged = services.length > 0 && services.every((s) => (s.desired > 0 || scaledToZero.includes(s.role)) && s.running === s.desired);
    const workers = services.filter((s) => isWorkerService(s.role));
    const desiredWorkers = workers.reduce((n, s) => n + s.desired, 0);
    ctx.out.debug(`${services.map((s) => `${s.role} ${s.running}/${s.desired}`).join(', ')}; health: ${health.map((h) => `${h.id} ${h.status}`).join(', ') || 'none yet'}`);
    // On a multi-node swarm only this node's tasks can be asked; the others count through their service.
    if (converged && health.length <= desiredWorkers && health.every((h) => h.status === 'healthy')) {
      return { services, health, seconds: Math.round((Date.now() - started) / 100) / 10 };
    }
    if (Date.now() - started > timeoutS * 1000) {
      const detail = services.map((s) => `${s.role} ${s.running}/${s.desired}`).join(', ');
      throw new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `stack ${stack} has not converged after ${timeoutS} s (${detail || 'no services'})`, {
        hint: `see why with \`docker service ps ${stack}_worker --no-trunc\` and \`docker service logs ${stack}_worker\`; raise --wait-timeout if the image is slow to start`,
      });
    }
    await sleep(POLL_MS);
  }
}

/**
 * `./bouy scale --stack NAME worker-thumbnails=3`: `docker service scale` of the stack's services
 * (a task scaled away drains first). Each must be a service of the stack, at most MAX_REPLICAS.
 */
export async function scaleStack(ctx: Context, stackValue: unknown, values: readonly string[], wait: { wait: boolean; timeoutS: number }): Promise<number> {
  const stack = stackName(stackValue, '--stack');
  const scales = values.map((value) => {
    const match = /^([a-z0-9][a-z0-9_-]*)=(\d{1,3})$/.exec(value);
    if (!match || Number(match[2]) > MAX_REPLICAS) {
      throw new BouyError('BOUY_ERR_USAGE', `scale ${JSON.stringify(value)} is not valid: SERVICE=N with N from 0 to ${MAX_REPLICAS} tasks, e.g. worker-thumbnails=3`);
    }
    return { role: match[1]!, count: Number(match[2]) };
  });
  await assertEngine(ctx.env);
  await assertSwarmManager(ctx.env);
  const services = await stackServices(ctx.env, stack);
  for (const { role } of scales) {
    if (!services.some((s) => s.role === role)) {
      throw new BouyError('BOUY_ERR_USAGE', `no service ${JSON.stringify(role)} in stack ${stack}: its services are ${services.map((s) => s.role).join(', ') || 'none (deploy it first)'}`);
    }
  }
  // --detach: Docker's own wait never ends for a task that keeps failing; ours has a deadline and says why.
  const code = await runDocker(ctx, ['service', 'scale', '--detach', ...scales.map((s) => `${stack}_${s.role}=${s.count}`)]);
  if (code !== 0) return code;
  const waited = wait.wait ? await waitConverged(ctx, stack, wait.timeoutS, scales.filter((s) => s.count === 0).map((s) => s.role)) : undefined;
  const after = waited?.services ?? await stackServices(ctx.env, stack);
  ctx.out.result({ stack, services: after, health: waited?.health ?? [] }, () => table(['SERVICE', 'TASKS'], after.map((s) => [s.name, `${s.running}/${s.desired}`])));
  return EXIT.ok;
}

const waitOptions = {
  wait: { type: 'boolean', default: true, describe: 'wait until every service runs and the worker tasks say healthy (--no-wait to return at once)' },
  'wait-timeout': { type: 'number', default: 180, describe: 'seconds to wait before failing' },
} as const;

const nameOption = {
  name: { type: 'string', describe: 'stack name (prefix of its services, network and volume)', defaultDescription: 'the project name, bouy' },
} as const;

export const deploy: BouyCommand = {
  command: 'deploy',
  describe: 'deploy the stack to Docker Swarm (compose/stack.yml); builds the image when missing; needs a swarm manager',
  builder: (y) => y
    .options({
      replicas: { type: 'number', default: 1, describe: `worker tasks (1-${MAX_REPLICAS}), each running WORKER_COUNT worker processes` },
      build: { type: 'boolean', default: false, describe: 'rebuild the image first' },
      ...nameOption,
      ...waitOptions,
    })
    .example('$0 deploy --replicas 2', 'two worker tasks × WORKER_COUNT, scheduler, api, dashboard and Redis, as stack bouy')
    .example('WORKER_COUNT=4 $0 deploy --replicas 3 --name jobs', 'twelve workers in stack jobs')
    .example('docker service scale bouy_worker=4', 'scale later with Swarm itself (a task scaled away drains first)'),
  run: async (ctx, args) => {
    const stack = nameOf(ctx, args);
    const replicas = replicasOf(args.replicas);
    await assertEngine(ctx.env);
    await assertSwarmManager(ctx.env);
    const image = ctx.env.BOUY_IMAGE ?? 'bouy:latest';
    await ensureImage(ctx, image, args.build as boolean);
    // The api and the dashboard listen on 0.0.0.0 and refuse to start without credentials.
    const withSecrets = ensureStackSecrets(ctx, []);
    const workerCount = withSecrets.env.WORKER_COUNT ?? '1';
    ctx.out.info(`deploying stack ${stack}: ${replicas} worker task(s) × WORKER_COUNT=${workerCount}, scheduler, api, dashboard, Redis (image ${image})`);
    const env = { ...withSecrets.env, BOUY_IMAGE: image, BOUY_WORKER_REPLICAS: String(replicas) };
    const code = await runDocker(ctx, stackDeployArgs(ctx.root, stack, await resolveImageMode(env, image), stackPoolsFile(poolsFile(ctx.root, ctx.env))), env);
    if (code !== 0) {
      ctx.out.error(`docker stack deploy failed (exit ${code})`);
      return code;
    }
    const waited = args.wait ? await waitConverged(ctx, stack, args['wait-timeout'] as number) : undefined;
    const services = waited?.services ?? await stackServices(ctx.env, stack);
    ctx.out.result({ stack, image, replicas, worker_count: /^\d+$/.test(workerCount) ? Number(workerCount) : workerCount, converged_after_s: waited?.seconds ?? null, services, health: waited?.health ?? [] }, () => [
      table(['SERVICE', 'TASKS'], services.map((s) => [s.name, `${s.running}/${s.desired}`])),
      ...(waited ? [`\nconverged after ${waited.seconds} s; worker health: ./bouy health --stack ${stack}`] : []),
    ].join('\n'));
    return EXIT.ok;
  },
};

export const undeploy: BouyCommand = {
  command: 'undeploy',
  describe: 'remove the swarm stack (SIGTERM: workers finish their jobs first); keeps Redis data unless -v',
  builder: (y) => y
    .options({
      ...nameOption,
      volumes: { alias: 'v', type: 'boolean', default: false, describe: 'remove the Redis volume too (queued jobs are lost)' },
      'wait-timeout': { type: 'number', default: 120, describe: 'seconds to wait for the tasks to drain and go' },
    })
    .example('$0 undeploy', 'remove stack bouy; running jobs complete first')
    .example('$0 undeploy --name jobs -v', 'remove stack jobs and its Redis data'),
  run: async (ctx, args) => {
    const stack = nameOf(ctx, args);
    await assertEngine(ctx.env);
    await assertSwarmManager(ctx.env);
    const services = await stackServices(ctx.env, stack);
    if (services.length === 0) {
      ctx.out.result({ stack, removed: [], volumes_removed: false }, () => `no stack ${stack}: nothing to remove`);
      return EXIT.ok;
    }
    ctx.out.info(`removing stack ${stack}: ${services.map((s) => s.name).join(', ')}; workers drain their jobs first`);
    const code = await runDocker(ctx, ['stack', 'rm', stack]);
    if (code !== 0) return code;
    // `docker stack rm` returns at once; the tasks drain (up to stop_grace_period) after it.
    const deadline = Date.now() + (args['wait-timeout'] as number) * 1000;
    while (await stackHasContainers(ctx.env, stack)) {
      if (Date.now() > deadline) {
        throw new BouyError('BOUY_ERR_INTERNAL', `stack ${stack}'s containers are still there after ${args['wait-timeout'] as number} s`, { hint: `docker ps -a --filter label=com.docker.stack.namespace=${stack}` });
      }
      await sleep(POLL_MS);
    }
    let volumesRemoved = false;
    if (args.volumes) {
      const volume = `${stack}_redis-data`;
      // The volume is released a moment after its container is gone: try for a few seconds.
      for (let tries = 0; tries < 10 && !volumesRemoved; tries++) {
        const rm = await capture(dockerBin(ctx.env), ['volume', 'rm', volume], ctx.env);
        volumesRemoved = rm.code === 0 || /no such volume/i.test(rm.stderr);
        if (!volumesRemoved) await sleep(POLL_MS);
      }
      if (!volumesRemoved) ctx.out.error(`could not remove volume ${volume}: docker volume rm ${volume}`);
    }
    ctx.out.result({ stack, removed: services.map((s) => s.name), volumes_removed: volumesRemoved },
      () => `removed stack ${stack} (${services.length} services)${volumesRemoved ? ' and its Redis volume' : ''}`);
    return volumesRemoved || !args.volumes ? EXIT.ok : EXIT.failure;
  },
};

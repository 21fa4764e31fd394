import { MAX_WORKERS } from '../../config/config.js';
import { BouyError, EXIT, noRunningContainer } from '../../errors.js';
import type { Args, BouyCommand } from '../command.js';
import type { Context } from '../context.js';
import { dockerBin } from '../docker.js';
import { HEALTH_PORT, healthTargets, probeHealth } from '../health-probe.js';
import { capture } from '../process.js';

/**
 * Signals the supervisor from inside the container. Not `docker kill -s`: tini (PID 1) does
 * not forward SIGTTIN/SIGTTOU (job-control signals), and the kernel drops them at a namespace's
 * init. The supervisor is PID 1's child under an init, or PID 1 itself without one.
 */
const SIGNAL_SUPERVISOR = [
  "const fs = require('fs');",
  "const init = fs.readFileSync('/proc/1/comm', 'utf8').trim();",
  "const pid = init === 'node' ? 1 : Number(fs.readFileSync('/proc/1/task/1/children', 'utf8').trim().split(' ')[0]);",
  'process.kill(pid, process.argv[1]);',
].join(' ');

/**
 * Sends a signal to the supervisor of every running container of a service, which reads
 * SIGHUP as "replace every worker, one at a time" and SIGTTIN/SIGTTOU as "one worker
 * more/fewer", as Gunicorn does, and SIGTSTP as "quiet", as Sidekiq does.
 */
async function signalService(ctx: Context, service: string, signal: NodeJS.Signals, times: number): Promise<string[]> {
  const targets = (await ctx.containers()).filter((c) => c.service === service && c.state === 'running');
  if (targets.length === 0) {
    throw noRunningContainer(service, ctx.project);
  }
  for (const container of targets) await signalContainer(ctx, container.id, signal, times);
  return targets.map((c) => c.name);
}

async function signalContainer(ctx: Context, id: string, signal: NodeJS.Signals, times: number): Promise<void> {
  for (let i = 0; i < times; i += 1) {
    const sent = await capture(dockerBin(ctx.env), ['exec', id, 'node', '-e', SIGNAL_SUPERVISOR, signal], ctx.env);
    if (sent.code !== 0) throw new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `could not signal container ${id}: ${sent.stderr.trim()}`);
  }
}

/**
 * One worker (by index) is recycled through the supervisor's admin route, which needs the
 * ADMIN_TOKEN the containers run with; all of them need only a signal.
 */
async function recycleOne(ctx: Context, service: string, index: number): Promise<string[]> {
  const token = ctx.env.ADMIN_TOKEN;
  if (!token) {
    throw new BouyError('BOUY_ERR_USAGE', '--worker needs ADMIN_TOKEN (the token the containers run with) to reach the admin route', {
      hint: 'set ADMIN_TOKEN in .env and `./bouy up` again, or recycle all workers without --worker',
    });
  }
  const targets = healthTargets(await ctx.containers()).filter((c) => c.service === service);
  if (targets.length === 0) throw noRunningContainer(service, ctx.project, ' publishing a health port');
  const recycled: string[] = [];
  for (const container of targets) {
    const response = await fetch(`http://127.0.0.1:${container.ports[HEALTH_PORT]}/admin/recycle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ worker: index }),
    });
    const body = (await response.json()) as { recycling?: string[]; message?: string };
    if (response.status !== 202) throw new BouyError('BOUY_ERR_USAGE', `${container.name}: ${response.status} ${body.message ?? ''}`.trim());
    recycled.push(...(body.recycling ?? []));
  }
  return recycled;
}

export const recycle: BouyCommand = {
  command: 'recycle [service]',
  describe: 'replace worker processes of the service\'s containers, letting their jobs finish (all: SIGHUP, rolling)',
  builder: (y) => y
    .positional('service', { type: 'string', default: 'worker', describe: 'compose service' })
    .options({ worker: { type: 'number', describe: `only the worker with this index (1–${MAX_WORKERS}) in each container; needs ADMIN_TOKEN` } })
    .check((args) => {
      const w = args.worker;
      if (w !== undefined && (!Number.isInteger(w) || w < 1 || w > MAX_WORKERS)) throw new BouyError('BOUY_ERR_USAGE', `--worker ${w} is not valid: a worker index from 1 to ${MAX_WORKERS}`);
      return true;
    })
    .example('$0 recycle', 'rolling replacement of all worker processes, no job cut off')
    .example('$0 recycle --worker 2', 'only worker-<container>-2 of each container'),
  run: async (ctx, args: Args) => {
    const service = args.service as string;
    if (args.worker !== undefined) {
      const workers = await recycleOne(ctx, service, args.worker as number);
      ctx.out.result({ service, workers }, () => `recycling ${workers.join(', ')}`);
      return EXIT.ok;
    }
    const containers = await signalService(ctx, service, 'SIGHUP', 1);
    ctx.out.result({ service, containers, signal: 'SIGHUP' }, () => `recycling the workers of ${containers.join(', ')} one at a time (see \`./bouy health\`)`);
    return EXIT.ok;
  },
};

export const resize: BouyCommand = {
  command: 'resize <workers> [service]',
  describe: 'set the number of worker processes inside each running container, without a restart (SIGTTIN/SIGTTOU)',
  builder: (y) => y
    .positional('workers', { type: 'string', describe: `N (1–${MAX_WORKERS}) worker processes per container, or +N more; fewer are drained, never cut off` })
    .positional('service', { type: 'string', default: 'worker', describe: 'compose service' })
    .example('$0 resize 6', 'six worker processes in every worker container')
    .example('$0 resize +2', 'two more in every worker container'),
  run: async (ctx, args: Args) => {
    const wanted = String(args.workers);
    const match = /^(\+?)(\d{1,2})$/.exec(wanted);
    const n = Number(match?.[2]);
    if (!match || n < 1 || n > MAX_WORKERS) {
      throw new BouyError('BOUY_ERR_USAGE', `workers ${JSON.stringify(wanted)} is not valid: N from 1 to ${MAX_WORKERS} per container, or +N to add`);
    }
    const service = args.service as string;
    const targets = healthTargets(await ctx.containers()).filter((c) => c.service === service);
    if (targets.length === 0) throw noRunningContainer(service, ctx.project, ' publishing a health port');
    const changes: Array<{ container: string; from: number; to: number }> = [];
    for (const container of targets) {
      const { worker_count: from } = await probeHealth(container);
      const to = Math.min(MAX_WORKERS, match[1] === '+' ? from + n : n);
      if (to !== from) await signalContainer(ctx, container.id, to > from ? 'SIGTTIN' : 'SIGTTOU', Math.abs(to - from));
      changes.push({ container: container.name, from, to });
    }
    ctx.out.result({ service, changes }, () => changes.map((c) => `${c.container}: ${c.from} → ${c.to} worker(s)`).join('\n'));
    return EXIT.ok;
  },
};

export const quiet: BouyCommand = {
  command: 'quiet [service]',
  describe: 'stop the service\'s containers taking new jobs; running ones finish; they stay up, /readyz 503, until `down` (SIGTSTP)',
  builder: (y) => y
    .positional('service', { type: 'string', default: 'worker', describe: 'compose service' })
    .example('$0 quiet', 'empty every worker container before stopping it (then `./bouy down`)'),
  run: async (ctx, args: Args) => {
    const service = args.service as string;
    // SIGTSTP is a job-control signal: tini does not forward it either, so it goes in by exec.
    const containers = await signalService(ctx, service, 'SIGTSTP', 1);
    ctx.out.result({ service, containers, signal: 'SIGTSTP' }, () => `${containers.join(', ')}: quiet (no new jobs; running ones finish; see \`./bouy health\`)`);
    return EXIT.ok;
  },
};

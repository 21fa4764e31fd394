import { BouyError, EXIT } from '../../errors.js';
import type { Args, BouyCommand } from '../command.js';
import type { Context } from '../context.js';
import { dockerBin } from '../docker.js';
import { capture } from '../process.js';

/**
 * Sends a signal to every running container of a service. tini (PID 1 in the image) passes it
 * to the supervisor, which reads SIGHUP as "replace every worker, one at a time" and
 * SIGTTIN/SIGTTOU as "one worker more/fewer", as Gunicorn does.
 */
async function signalService(ctx: Context, service: string, signal: string, times: number): Promise<string[]> {
  const targets = (await ctx.containers()).filter((c) => c.service === service && c.state === 'running');
  if (targets.length === 0) {
    throw new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `no running ${service} container in project ${ctx.project}`, { hint: `start it with \`./bouy up ${service}\`` });
  }
  for (const container of targets) {
    for (let i = 0; i < times; i += 1) {
      const sent = await capture(dockerBin(ctx.env), ['kill', '-s', signal, container.id], ctx.env);
      if (sent.code !== 0) throw new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `could not signal ${container.name}: ${sent.stderr.trim()}`);
    }
  }
  return targets.map((c) => c.name);
}

export const recycle: BouyCommand = {
  command: 'recycle [service]',
  describe: 'replace every worker process of the service\'s containers, one at a time, letting their jobs finish (SIGHUP)',
  builder: (y) => y
    .positional('service', { type: 'string', default: 'worker', describe: 'compose service' })
    .example('$0 recycle', 'rolling replacement of all worker processes, no job cut off'),
  run: async (ctx, args: Args) => {
    const service = args.service as string;
    const containers = await signalService(ctx, service, 'HUP', 1);
    ctx.out.result({ service, containers, signal: 'SIGHUP' }, () => `recycling the workers of ${containers.join(', ')} one at a time (see \`./bouy health\`)`);
    return EXIT.ok;
  },
};

export const resize: BouyCommand = {
  command: 'resize <change> [service]',
  describe: 'add or remove worker processes inside each running container, without a restart (SIGTTIN/SIGTTOU)',
  builder: (y) => y
    .positional('change', { type: 'string', describe: '+N adds N workers per container, -N removes N (drained first)' })
    .positional('service', { type: 'string', default: 'worker', describe: 'compose service' })
    .example('$0 resize +2', 'two more worker processes in every worker container')
    .example('$0 resize -- -1', 'one fewer (drained, never cut off); `--` keeps yargs from reading -1 as an option'),
  run: async (ctx, args: Args) => {
    const change = String(args.change);
    const match = /^([+-])(\d{1,2})$/.exec(change);
    if (!match || Number(match[2]) === 0 || Number(match[2]) > 19) {
      throw new BouyError('BOUY_ERR_USAGE', `change ${JSON.stringify(change)} is not valid: +N or -N with N from 1 to 19 (WORKER_COUNT stays within 1–20)`);
    }
    const signal = match[1] === '+' ? 'TTIN' : 'TTOU';
    const times = Number(match[2]);
    const service = args.service as string;
    const containers = await signalService(ctx, service, signal, times);
    ctx.out.result({ service, containers, signal: `SIG${signal}`, times }, () => `sent SIG${signal} ×${times} to ${containers.join(', ')}`);
    return EXIT.ok;
  },
};

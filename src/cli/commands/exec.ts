import { BouyError } from '../../errors.js';
import type { BouyCommand } from '../command.js';
import type { Context } from '../context.js';

/** `-T` (no pseudo-terminal) unless both ends are terminals, or piping through would hang. */
function ttyFlags(): string[] {
  return process.stdin.isTTY && process.stdout.isTTY ? [] : ['-T'];
}

async function execIn(ctx: Context, service: string, command: string[]): Promise<number> {
  const running = (await ctx.containers()).filter((c) => c.service === service);
  if (running.length === 0) {
    throw new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `no running ${service} container in project ${ctx.project}`, {
      hint: `start it: ./bouy up ${service}`,
    });
  }
  return ctx.runCompose(['exec', ...ttyFlags(), service, ...command]);
}

export const exec: BouyCommand = {
  command: 'exec <service> <cmd..>',
  describe: 'run a command in the service\'s (first) container',
  builder: (y) => y
    .positional('service', { type: 'string', describe: 'service name, e.g. worker or redis' })
    .positional('cmd', { type: 'string', array: true, describe: 'command and its arguments (put -- before options of it)' })
    .example('$0 exec redis redis-cli ping', 'is Redis there?')
    .example('$0 exec worker -- env', 'what the worker sees'),
  run: (ctx, args) => execIn(ctx, args.service as string, (args.cmd as Array<string | number>).map(String)),
};

export const shell: BouyCommand = {
  command: 'shell <service>',
  describe: 'an interactive shell in the service\'s container (bash, else sh)',
  builder: (y) => y
    .positional('service', { type: 'string', describe: 'service name' })
    .example('$0 shell worker', 'look around inside a worker container'),
  run: (ctx, args) => execIn(ctx, args.service as string, ['sh', '-c', 'command -v bash >/dev/null && exec bash || exec sh']),
};

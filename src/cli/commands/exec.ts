import { noRunningContainer } from '../../errors.js';
import type { BouyCommand } from '../command.js';
import type { Context } from '../context.js';

/** `-T` (no pseudo-terminal) unless both ends are terminals, or piping through would hang. */
function ttyFlags(): string[] {
  return process.stdin.isTTY && process.stdout.isTTY ? [] : ['-T'];
}

async function execIn(ctx: Context, service: string, command: string[]): Promise<number> {
  const running = (await ctx.containers()).filter((c) => c.service === service);
  if (running.length === 0) {
    throw noRunningContainer(service, ctx.project);
  }
  return ctx.runCompose(['exec', ...ttyFlags(), service, ...command]);
}

export const exec: BouyCommand = {
  // [cmd..] only for the help text: the parser hands everything after the service over as
  // `rest`, untouched (see BouyCommand.passthrough), so the command's own options reach it.
  command: 'exec <service> [cmd..]',
  describe: 'run a command in the service\'s (first) container; everything after the service is the command\'s',
  passthrough: true,
  builder: (y) => y
    .positional('service', { type: 'string', describe: 'service name, e.g. worker or redis' })
    .positional('cmd', { type: 'string', array: true, describe: 'command and its arguments, options included' })
    .example('$0 exec redis redis-cli ping', 'is Redis there?')
    .example('$0 exec worker node dist/cli/main.js workers --redis-url redis://redis:6379', 'a bouy command inside the stack'),
  run: (ctx, args) => execIn(ctx, args.service as string, args.rest as string[]),
};

export const shell: BouyCommand = {
  command: 'shell <service>',
  describe: 'an interactive shell in the service\'s container (bash, else sh)',
  builder: (y) => y
    .positional('service', { type: 'string', describe: 'service name' })
    .example('$0 shell worker', 'look around inside a worker container'),
  run: (ctx, args) => execIn(ctx, args.service as string, ['sh', '-c', 'command -v bash >/dev/null && exec bash || exec sh']),
};

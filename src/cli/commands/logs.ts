import type { BouyCommand } from '../command.js';

export const logs: BouyCommand = {
  command: 'logs [services..]',
  // Not followed by default, as `docker compose logs`: `./bouy logs worker | grep …` returns.
  describe: 'the services\' logs (-f follows them; Ctrl-C stops following, not the stack)',
  builder: (y) => y
    .positional('services', { type: 'string', array: true, describe: 'services (default: all)' })
    .options({
      follow: { alias: 'f', type: 'boolean', default: false, describe: 'keep following new lines' },
      tail: { type: 'string', default: 'all', describe: 'lines from the end of each log, or all' },
    })
    .example('$0 logs worker | grep "worker-.*-2"', 'one worker\'s lines so far')
    .example('$0 logs -f --tail 100 worker', 'the last 100 lines, then follow'),
  composeArgs: (args, globals) => ['logs', ...(args.follow ? ['--follow'] : []), ...(globals.color ? [] : ['--no-color']),
    `--tail=${String(args.tail)}`, ...((args.services as string[] | undefined) ?? [])],
  run: (ctx, args) => ctx.runCompose(logs.composeArgs!(args, ctx.args)),
};

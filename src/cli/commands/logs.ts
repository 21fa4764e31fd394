import type { BouyCommand } from '../command.js';

export const logs: BouyCommand = {
  command: 'logs [services..]',
  describe: 'the services\' logs, followed (Ctrl-C stops following, not the stack)',
  builder: (y) => y
    .positional('services', { type: 'string', array: true, describe: 'services (default: all)' })
    .options({
      follow: { alias: 'f', type: 'boolean', default: true, describe: 'keep following (--no-follow prints and returns)' },
      tail: { type: 'string', default: 'all', describe: 'lines from the end of each log, or all' },
    })
    .example('$0 logs worker', 'follow the workers')
    .example('$0 logs worker --no-follow --tail 100 | grep "worker-.*-2"', 'one worker\'s recent lines'),
  run: (ctx, args) => ctx.runCompose(['logs', ...(args.follow ? ['--follow'] : []), ...(ctx.args.color ? [] : ['--no-color']),
    `--tail=${String(args.tail)}`, ...((args.services as string[] | undefined) ?? [])]),
};

import type { BouyCommand } from '../command.js';
import type { Context } from '../context.js';

/** `compose down` for the stack: orphans too; the volumes (Redis data) only when asked. */
function downArgs(volumes: boolean, timeout: number | undefined): string[] {
  // No --timeout by default: Compose then waits each service's stop_grace_period, which is
  // longer than the workers' drain; Compose's own default (10 s) would cut the drain short.
  return ['down', '--remove-orphans', ...(volumes ? ['--volumes'] : []), ...(timeout === undefined ? [] : ['--timeout', String(timeout)])];
}

async function stop(ctx: Context, volumes: boolean, timeout: number | undefined): Promise<number> {
  const before = await ctx.containers({ all: true });
  ctx.out.info(`stopping project ${ctx.project}: ${before.length} container(s); workers drain their jobs first${volumes ? '; removing volumes (Redis data)' : ''}`);
  const code = await ctx.runCompose(downArgs(volumes, timeout), undefined, { progress: true });
  ctx.out.result({ project: ctx.project, removed: before.map((c) => c.name), volumes_removed: volumes, exit_code: code },
    () => (code === 0 ? `removed ${before.length} container(s)${volumes ? ' and the volumes' : ''}` : ''));
  return code;
}

const timeoutOption = {
  timeout: { type: 'number', describe: 'seconds to wait for each container to stop (default: its stop_grace_period)' },
} as const;

export const down: BouyCommand = {
  command: 'down',
  describe: 'stop and remove the stack\'s containers (SIGTERM: workers finish their jobs); keeps Redis data unless -v',
  builder: (y) => y.options({
    ...timeoutOption,
    // -v as in `docker compose down -v` (so --verbose has no short form).
    volumes: { alias: 'v', type: 'boolean', default: false, describe: 'remove the volumes too (Redis data: queued jobs are lost), as clean' },
  })
    .example('$0 down', 'stop everything; running jobs complete first')
    .example('$0 down -v', 'and drop Redis\'s data')
    .example('$0 down --timeout 5', 'give each container 5 s before it is killed'),
  composeArgs: (args) => downArgs(args.volumes as boolean, args.timeout as number | undefined),
  run: (ctx, args) => stop(ctx, args.volumes as boolean, args.timeout as number | undefined),
};

export const clean: BouyCommand = {
  command: 'clean',
  describe: 'down, and remove the volumes too (Redis data: queued jobs are lost)',
  builder: (y) => y.options(timeoutOption)
    .example('$0 clean', 'a clean slate'),
  composeArgs: (args) => downArgs(true, args.timeout as number | undefined),
  run: (ctx, args) => stop(ctx, true, args.timeout as number | undefined),
};

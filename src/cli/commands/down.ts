import type { BouyCommand } from '../command.js';
import type { Context } from '../context.js';

async function stop(ctx: Context, volumes: boolean, timeout: number | undefined): Promise<number> {
  const before = await ctx.containers({ all: true });
  ctx.out.info(`stopping project ${ctx.project}: ${before.length} container(s); workers drain their jobs first${volumes ? '; removing volumes (Redis data)' : ''}`);
  // No --timeout by default: Compose then waits each service's stop_grace_period, which is
  // longer than the workers' drain; Compose's own default (10 s) would cut the drain short.
  const code = await ctx.runCompose(['down', '--remove-orphans', ...(volumes ? ['--volumes'] : []),
    ...(timeout === undefined ? [] : ['--timeout', String(timeout)])]);
  ctx.out.result({ project: ctx.project, removed: before.map((c) => c.name), volumes_removed: volumes, exit_code: code },
    () => (code === 0 ? `removed ${before.length} container(s)${volumes ? ' and the volumes' : ''}` : ''));
  return code;
}

const timeoutOption = {
  timeout: { type: 'number', describe: 'seconds to wait for each container to stop (default: its stop_grace_period)' },
} as const;

export const down: BouyCommand = {
  command: 'down',
  describe: 'stop and remove the stack\'s containers (SIGTERM: workers finish their jobs); keeps Redis data',
  builder: (y) => y.options(timeoutOption)
    .example('$0 down', 'stop everything; running jobs complete first')
    .example('$0 down --timeout 5', 'give each container 5 s before it is killed'),
  run: (ctx, args) => stop(ctx, false, args.timeout as number | undefined),
};

export const clean: BouyCommand = {
  command: 'clean',
  describe: 'down, and remove the volumes too (Redis data: queued jobs are lost)',
  builder: (y) => y.options(timeoutOption)
    .example('$0 clean', 'a clean slate'),
  run: (ctx, args) => stop(ctx, true, args.timeout as number | undefined),
};

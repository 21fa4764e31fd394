import { EXIT, noRunningContainer } from '../../errors.js';
import type { BouyCommand } from '../command.js';
import { healthTargets, probeHealth } from '../health-probe.js';
import { table, type Output } from '../output.js';

function colourStatus(out: Output, status: string): string {
  if (status === 'healthy') return out.paint('green', status);
  if (status === 'degraded') return out.paint('yellow', status);
  return out.paint('red', status);
}

export const health: BouyCommand = {
  command: 'health',
  describe: 'every running container\'s /health as a table; exit 1 when any is not healthy',
  builder: (y) => y
    .example('$0 health', 'container, port, status, workers ready/total, restarts')
    .example('$0 health --json | jq ".[].workers[].name"', 'every worker\'s name'),
  run: async (ctx) => {
    const targets = healthTargets(await ctx.containers());
    if (targets.length === 0) {
      throw noRunningContainer('worker', ctx.project, ' publishing a health port');
    }
    const reports = await Promise.all(targets.map((c) => probeHealth(c)));
    ctx.out.result(reports, () => table(['CONTAINER', 'PORT', 'STATUS', 'WORKERS', 'RESTARTS'], reports.map((r) => [
      r.container, String(r.port), colourStatus(ctx.out, r.status), `${r.workers_ready}/${r.worker_count}`, String(r.restarts),
    ])));
    return reports.every((r) => r.status === 'healthy') ? EXIT.ok : EXIT.failure;
  },
};

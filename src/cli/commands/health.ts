import { BouyError, EXIT } from '../../errors.js';
import type { BouyCommand } from '../command.js';
import { assertEngine, projectContainers } from '../docker.js';
import { healthTargets, notRunning, probeHealth, probeHealthByExec, type HealthReport } from '../health-probe.js';
import { isWorkerService } from '../pools.js';
import { isDown } from '../stack-failure.js';
import { table, type Output } from '../output.js';
import { stackContainers, stackName } from '../swarm.js';

function colourStatus(out: Output, status: string): string {
  if (status === 'healthy') return out.paint('green', status);
  if (status === 'degraded') return out.paint('yellow', status);
  return out.paint('red', status);
}

export const health: BouyCommand = {
  command: 'health',
  describe: 'every worker container\'s /health, pools too (compose project and swarm stack) as a table; exit 1 when any is not healthy',
  builder: (y) => y
    .options({
      stack: { type: 'string', describe: 'swarm stack whose worker tasks on this node to ask too', defaultDescription: 'the project name' },
    })
    .example('$0 health', 'container, port, status, workers ready/total, restarts, leader')
    .example('$0 health --stack bouy', 'a swarm stack\'s worker tasks, asked through docker exec (they publish no health port)')
    .example('$0 health --json | jq ".[].workers[].name"', 'every worker\'s name'),
  run: async (ctx, args) => {
    const stack = stackName(args.stack ?? ctx.project, '--stack');
    // Only the engine: a swarm-only machine may have no Compose.
    await assertEngine(ctx.env);
    const all = await projectContainers(ctx.env, ctx.project, { all: true });
    const composed = healthTargets(all);
    // A worker container of the stack that is stopped or restarting is listed too, and fails the check.
    const down = all.filter((c) => isWorkerService(c.service) && isDown(c));
    const tasks = (await stackContainers(ctx.env, stack)).filter((c) => isWorkerService(c.service) && c.state === 'running');
    if (composed.length === 0 && tasks.length === 0 && down.length === 0) {
      throw new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `no running worker container of project ${ctx.project} or swarm stack ${stack} on this host`, {
        hint: 'start the workers: ./bouy up worker, or ./bouy deploy for a swarm',
      });
    }
    const reports: HealthReport[] = await Promise.all([
      ...composed.map((c) => probeHealth(c)),
      ...tasks.map((c) => probeHealthByExec(ctx.env, c)),
      ...down.map((c) => Promise.resolve(notRunning(c))),
    ]);
    ctx.out.result(reports, () => table(['CONTAINER', 'SERVICE', 'PORT', 'STATUS', 'WORKERS', 'RESTARTS', 'LEADER'], reports.map((r) => [
      r.container, r.service, r.via === 'exec' ? `${r.port} (exec)` : r.port ? String(r.port) : '-', colourStatus(ctx.out, r.status),
      `${r.workers_ready}/${r.worker_count}`, String(r.restarts), r.leader ? 'yes' : '',
    ])));
    return reports.every((r) => r.status === 'healthy') ? EXIT.ok : EXIT.failure;
  },
};

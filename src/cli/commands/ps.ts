import { EXIT } from '../../errors.js';
import type { BouyCommand } from '../command.js';
import { table } from '../output.js';
import { describeDown } from '../stack-failure.js';

export const ps: BouyCommand = {
  command: 'ps',
  describe: 'the stack\'s containers, stopped ones too: name, service, state, health, ports',
  builder: (y) => y
    // Stopped and restarting containers are part of the stack: listed unless --no-all.
    .options({ all: { alias: 'a', type: 'boolean', default: true, describe: 'stopped and restarting containers too (--no-all: running ones only)' } })
    .example('$0 ps', 'what runs')
    .example('$0 ps --json', 'the same, for scripts'),
  run: async (ctx, args) => {
    const containers = await ctx.containers({ all: args.all as boolean });
    ctx.out.result({ project: ctx.project, containers }, () => containers.length === 0
      ? `no containers in project ${ctx.project} (start them with \`./bouy up\`)`
      : table(['CONTAINER', 'ID', 'SERVICE', 'STATE', 'HEALTH', 'PORTS'], containers.map((c) => [
        c.name, c.id, c.service, c.state === 'running' ? c.state : describeDown(c), c.health || '-',
        Object.entries(c.ports).map(([inner, host]) => `${host}->${inner}`).join(', ') || '-',
      ])));
    return EXIT.ok;
  },
};

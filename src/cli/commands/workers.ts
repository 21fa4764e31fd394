import { EXIT } from '../../errors.js';
import { removeStaleRegistrations } from '../../registry/stale-cleanup.js';
import { Registry, type RegisteredWorker } from '../../registry/registry.js';
import { readFleet } from '../../registry/members.js';
import { leaderKey, readLeader } from '../../leader/index.js';
import type { BouyCommand } from '../command.js';
import { table } from '../output.js';
import { runInsideStack } from '../inside-stack.js';
import { redisUrlOption, stackFleet, withCliRedis } from '../stack-redis.js';


function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

export const workers: BouyCommand = {
  command: 'workers',
  describe: 'every worker registered in Redis across the fleet; stale ones marked',
  builder: (y) => y
    .options({
      prune: { type: 'boolean', default: false, describe: 'remove stale registrations (their held jobs go back to the queue)' },
      'heartbeat-seconds': { type: 'number', describe: 'the workers\' HEARTBEAT_SECONDS (default: from the environment, else 5)' },
      ...redisUrlOption,
    })
    .example('$0 workers', 'name, host, state, queue, jobs, heartbeat age')
    .example('$0 workers --prune', 'remove the stale ones and say how many'),
  run: async (ctx, args) => {
    // Stale as the supervisors count it: the same settings, read and validated the same way.
    const fleetSettings = await stackFleet(ctx, args['redis-url'] as string | undefined, { heartbeatSeconds: args['heartbeat-seconds'] as number | undefined });
    if (!fleetSettings) return runInsideStack(ctx);
    const { staleAfterMs, keyPrefix: prefix } = fleetSettings;
    return withCliRedis(fleetSettings.redis, async (redis) => {
      const registry = new Registry(redis, prefix, fleetSettings.bullPrefix);
      const now = await registry.clock.now(); // heartbeats are stamped with Redis's clock
      const list = await registry.list();
      const isStale = (w: RegisteredWorker) => now - w.heartbeatAt > staleAfterMs;
      const stale = list.filter(isStale);
      let pruned = 0;
      let requeued = 0;
      if (args.prune && stale.length > 0) {
        // The supervisors' own clean-up (batched, SCAN-based), for the expired ones only.
        const cleanup = await removeStaleRegistrations(redis, { prefix, bullPrefix: fleetSettings.bullPrefix, staleAfterMs, registry });
        pruned = cleanup.removed;
        requeued = cleanup.requeued.length;
      }
      const leader = await readLeader(redis, leaderKey(prefix));
      const fleet = await readFleet(redis, prefix, staleAfterMs, now);
      const rows = list.map((w) => ({
        name: w.name, host: w.host, pid: w.pid, state: w.state, queues: w.queues, completed: w.completed, failed: w.failed,
        active_jobs: w.active, heartbeat_age_s: Math.round((now - w.heartbeatAt) / 100) / 10, stale: isStale(w),
      }));
      ctx.out.result({ workers: rows, stale: stale.length, pruned, requeued, leader, fleet }, () => {
        const body = rows.length === 0 ? 'no workers registered' : table(
          ['NAME', 'HOST', 'STATE', 'QUEUE', 'JOBS ok/failed/active', 'HEARTBEAT'],
          rows.map((w) => [
            w.stale ? ctx.out.paint('red', `${w.name} (stale)`) : w.name, w.host, w.state, w.queues.join(','),
            `${w.completed}/${w.failed}/${w.active_jobs}`, `${age(w.heartbeat_age_s * 1000)} ago`,
          ]));
        const leads = `leader: ${leader ? `${leader} (host:pid; runs the singleton services)` : 'none elected yet'}`;
        const agreement = fleet.consistent
          ? `fleet: ${fleet.members.length} supervisor(s), configured identically${fleet.members[0] ? ` (version ${fleet.members[0].version}, ${fleet.members[0].fingerprint})` : ''}`
          : ctx.out.paint('red', `fleet disagrees:\n${fleet.differences.map((d) => `  ${d.setting}: ${Object.entries(d.values).map(([v, hosts]) => `${v} on ${hosts.join(', ')}`).join('; ')}`).join('\n')}`);
        const note = args.prune
          ? `\npruned ${pruned} stale registration(s); ${requeued} job(s) returned to their queues`
          : stale.length > 0 ? `\n${stale.length} stale (no heartbeat for ${staleAfterMs / 1000} s): remove them with --prune` : '';
        return `${body}\n${leads}\n${agreement}${note}`;
      });
      return EXIT.ok;
    });
  },
};

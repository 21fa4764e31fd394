// Stale clean-up: plant N registrations of dead workers (another host, heartbeat an hour old),
// start a supervisor and time spawn → its "removed N stale worker registration(s)" log line.
// The row for 0 is the start-up cost without any clean-up work, to subtract.
import { randomUUID } from 'node:crypto';
import { bouyFleet } from '../fleets.mjs';
import { newQueue } from '../jobs.mjs';
import { cell, summarize } from '../stats.mjs';

const SIZES = [0, 1_000, 10_000, 100_000];

async function plant(redis, prefix, count) {
  const old = Date.now() - 3_600_000;
  for (let from = 0; from < count; from += 5_000) {
    const pipeline = redis.client.pipeline();
    for (let i = from; i < Math.min(count, from + 5_000); i += 1) {
      const name = `worker-gone${i % 97}-${i}`;
      pipeline.hset(`${prefix}:worker:${name}`, { name, pid: 999_999, host: `gone${i % 97}`, queues: 'bench', started: old, heartbeat: old, state: 'ready', completed: 0, failed: 0 });
      pipeline.zadd(`${prefix}:workers`, old, name);
    }
    await pipeline.exec();
  }
}

export async function run({ redis, reps, log }) {
  const samples = Object.fromEntries(SIZES.map((n) => [n, []]));
  for (let rep = 0; rep < reps; rep += 1) {
    for (const n of SIZES) {
      const prefix = `stale-${randomUUID().slice(0, 8)}`;
      await plant(redis, prefix, n);
      const queue = newQueue(redis, 'stale');
      const fleet = await bouyFleet({ redis, queue: queue.name, processor: 'noop', count: 1, concurrency: 1, env: { BOUY_PREFIX: prefix } });
      try {
        const line = await fleet.proc.waitForLine((l) => typeof l.removed === 'number', 'the stale clean-up log line', 120_000);
        if (line.removed !== n) throw new Error(`expected ${n} stale registrations removed, the log says ${line.removed}`);
        samples[n].push(line.receivedAt - fleet.proc.startedAt);
        log(`stale ${n}: ${(line.receivedAt - fleet.proc.startedAt).toFixed(0)} ms`);
        const left = await redis.client.zcard(`${prefix}:workers`);
        if (left > 1) throw new Error(`${left} registrations left after clean-up`);
      } finally {
        await fleet.stop();
        await queue.close();
      }
    }
  }
  const s = Object.fromEntries(SIZES.map((n) => [n, summarize(samples[n])]));
  const extra = (n) => Math.max(0, s[n].median - s[0].median);
  return {
    data: s,
    tables: [{
      title: 'Stale clean-up at start-up: process start to the "removed N stale" log line (ms)',
      columns: ['planted registrations', 'start → "removed N" line', 'clean-up (median minus the 0 row)', 'per 1,000'],
      rows: SIZES.map((n) => [n.toLocaleString('en'), cell(s[n], 'ms'), n ? `${extra(n).toFixed(0)} ms` : '—', n ? `${(extra(n) / (n / 1000)).toFixed(1)} ms` : '—']),
    }],
  };
}

// What a fleet costs Redis when no job arrives, and while long jobs run (issue 21, goal 4):
// commands per second and bytes per second (in and out, as Redis counts them: INFO
// commandstats and INFO stats), per container, bouy (one supervisor, 4 workers × 4) against
// the same workers without bouy (4 plain BullMQ processes × 4, PM2's shape without PM2, which
// adds no Redis traffic of its own), with 1 and 10 containers on one Redis. Counted over a
// fixed window after the fleet settled; Redis's counts are exact, the window's length is not,
// so the figures are rates over RESTING_MS.
import { randomUUID } from 'node:crypto';
import { bouyFleet, plainFleet } from '../fleets.mjs';
import { commandStats, commandsBetween, networkBytes, totalCalls } from '../commandstats.mjs';
import { enqueue, newQueue } from '../jobs.mjs';
import { sleep, waitFor } from '../wait.mjs';

const WORKERS = 4;
const CONCURRENCY = 4;
const SETTLE_MS = 6000;
const RESTING_MS = Number(process.env.BENCH_REST_MS ?? 30_000);
/** Busy: every slot holds a job that outlasts the window. */
const LONG_JOB_MS = RESTING_MS + 30_000;

/** One container: bouy's supervisor, or WORKERS plain worker processes (PM2 would start these). */
async function startContainer(kind, redis, queue, env) {
  if (kind === 'bouy') {
    const fleet = await bouyFleet({ redis, queue, processor: 'io', count: WORKERS, concurrency: CONCURRENCY, env });
    await fleet.ready(180_000);
    return [fleet];
  }
  const fleets = Array.from({ length: WORKERS }, () => plainFleet({ redis, queue, processor: 'io', concurrency: CONCURRENCY, env }));
  await Promise.all(fleets.map((f) => f.ready(180_000)));
  return fleets;
}

async function measure(redis, kind, containers, busy, log) {
  const queue = newQueue(redis, `rest-${kind}`);
  // One fleet prefix for the whole run: the containers of one fleet (BOUY_PREFIX shared, hosts distinct).
  const env = { BENCH_IO_MS: String(LONG_JOB_MS), BOUY_PREFIX: `bouy-rest-${randomUUID().slice(0, 8)}` };
  const started = [];
  try {
    for (let i = 0; i < containers; i += 1) started.push(...await startContainer(kind, redis, queue.name, env));
    if (busy) {
      await enqueue(queue, containers * WORKERS * CONCURRENCY);
      await waitFor(async () => (await queue.getActiveCount()) >= containers * WORKERS * CONCURRENCY, 'every slot busy', 60_000);
    }
    await sleep(SETTLE_MS);
    const before = { stats: await commandStats(redis.client), net: await networkBytes(redis.client), at: performance.now() };
    await sleep(RESTING_MS);
    const after = { stats: await commandStats(redis.client), net: await networkBytes(redis.client), at: performance.now() };
    const seconds = (after.at - before.at) / 1000;
    const delta = commandsBetween(before.stats, after.stats);
    delete delta.info; // ours
    const per = (x) => x / seconds / containers;
    const result = {
      commandsPerSecond: per(totalCalls(delta)),
      bytesInPerSecond: per(after.net.input - before.net.input),
      bytesOutPerSecond: per(after.net.output - before.net.output),
      byCommand: Object.fromEntries(Object.entries(delta).map(([name, { calls }]) => [name, per(calls)]).sort((a, b) => b[1] - a[1])),
    };
    log(`rest ${kind} ×${containers} ${busy ? 'busy' : 'idle'}: ${result.commandsPerSecond.toFixed(2)} commands/s per container; ${Object.entries(result.byCommand).slice(0, 8).map(([n, r]) => `${n} ${r.toFixed(2)}`).join(', ')}`);
    return result;
  } finally {
    await Promise.all(started.map((f) => f.stop()));
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

export async function run({ redis, log, restContainers = [1, 10] }) {
  const data = {};
  for (const containers of restContainers) {
    for (const busy of [false, true]) {
      for (const kind of ['bouy', 'plain']) data[`${kind}-${containers}-${busy ? 'busy' : 'idle'}`] = await measure(redis, kind, containers, busy, log);
    }
  }
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
  const rows = [];
  for (const containers of restContainers) {
    for (const state of ['idle', 'busy']) {
      const b = data[`bouy-${containers}-${state}`];
      const p = data[`plain-${containers}-${state}`];
      rows.push([`${containers}`, state === 'idle' ? 'at rest' : `busy (${WORKERS * CONCURRENCY} long jobs each)`,
        fmt(b.commandsPerSecond), fmt(p.commandsPerSecond), `${(b.commandsPerSecond / p.commandsPerSecond).toFixed(2)}×`,
        `${fmt(b.bytesInPerSecond)} / ${fmt(b.bytesOutPerSecond)}`, `${fmt(p.bytesInPerSecond)} / ${fmt(p.bytesOutPerSecond)}`]);
    }
  }
  return {
    data,
    tables: [{
      title: `Redis at rest: per container of ${WORKERS} workers × ${CONCURRENCY} (commands/s and bytes/s as Redis counts them, over ${RESTING_MS / 1000} s)`,
      columns: ['containers', 'state', 'bouy commands/s', 'plain BullMQ commands/s', 'bouy / plain', 'bouy bytes/s in / out', 'plain bytes/s in / out'],
      rows,
    }],
  };
}

// Redis commands per job (issue 21, goal 1): every contestant drains the same N no-op jobs on
// the bench's Redis, and Redis's own INFO commandstats counts what that cost it, commands run
// inside BullMQ's Lua scripts included. Redis is the one resource every container of a fleet
// shares, and it is single-threaded: a command per job more is a job per second less for the
// whole fleet. Counts are exact, so one drain per contestant suffices; the bench's own polling
// (one ZCARD each time) is taken out.
import { bouyFleet, plainFleet, pm2Fleet } from '../fleets.mjs';
import { commandStats, commandsBetween, totalCalls } from '../commandstats.mjs';
import { enqueue, newQueue } from '../jobs.mjs';
import { waitFor } from '../wait.mjs';

export const contestants = [
  { key: 'bouy1', name: 'bouy 1 worker × 16', start: (o) => bouyFleet({ ...o, count: 1, concurrency: 16 }) },
  { key: 'bouy4', name: 'bouy 4 workers × 4', start: (o) => bouyFleet({ ...o, count: 4, concurrency: 4 }) },
  { key: 'plain', name: 'plain BullMQ, 1 process × 16', start: (o) => plainFleet({ ...o, concurrency: 16 }) },
  { key: 'pm2x4', name: 'PM2, 4 instances × 4', start: (o) => pm2Fleet({ ...o, count: 4, concurrency: 4 }) },
  // The cost of QUEUE_RATE_LIMIT itself: a limit no drain here reaches, so only its bookkeeping shows.
  { key: 'bouyLimit', name: 'bouy 1 worker × 16, QUEUE_RATE_LIMIT=1000000/1s', start: (o) => bouyFleet({ ...o, count: 1, concurrency: 16, env: { QUEUE_RATE_LIMIT: '1000000/1s' } }) },
];

/** Commands Redis ran for one drain of `jobs` no-op jobs, per command, the bench's own taken out. */
export async function countDrain(redis, contestant, jobs) {
  const queue = newQueue(redis, `cmd-${contestant.key}`);
  await queue.pause();
  await enqueue(queue, jobs);
  const fleet = await contestant.start({ redis, queue: queue.name, processor: 'noop' });
  const completedKey = `bull:${queue.name}:completed`;
  let polls = 0;
  try {
    await fleet.ready();
    const before = await commandStats(redis.client);
    const t0 = performance.now();
    await queue.resume();
    await waitFor(async () => { polls += 1; return (await redis.client.zcard(completedKey)) >= jobs; }, `${jobs} completed`, 300_000, 20);
    const seconds = (performance.now() - t0) / 1000;
    const delta = commandsBetween(before, await commandStats(redis.client));
    delete delta.info;
    if (delta.zcard) delta.zcard.calls -= polls;
    return { delta, calls: totalCalls(delta), perJob: totalCalls(delta) / jobs, seconds };
  } finally {
    await fleet.stop();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

/** The commands whose count per job differs from plain BullMQ's by at least 0.01, as "GET +1.00". */
function differences(delta, plain, jobs) {
  const names = new Set([...Object.keys(delta), ...Object.keys(plain)]);
  return [...names]
    .map((name) => [name, ((delta[name]?.calls ?? 0) - (plain[name]?.calls ?? 0)) / jobs])
    .filter(([, d]) => Math.abs(d) >= 0.01)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
    .map(([name, d]) => `${name.toUpperCase()} ${d > 0 ? '+' : ''}${d.toFixed(2)}`)
    .join(', ') || '—';
}

export async function run({ redis, log, commandJobs = 5000 }) {
  const jobs = commandJobs;
  const results = {};
  for (const contestant of contestants) {
    results[contestant.key] = await countDrain(redis, contestant, jobs);
    log(`commands ${contestant.key}: ${results[contestant.key].perJob.toFixed(2)} per job (${results[contestant.key].seconds.toFixed(1)} s)`);
  }
  const plain = results.plain;
  return {
    data: { jobs, results },
    tables: [{
      title: `Redis commands per no-op job (INFO commandstats, ${jobs} jobs, scripts' commands included)`,
      columns: ['runner', 'commands per job', 'vs plain BullMQ', 'per job beyond plain BullMQ (by command)', 'drain'],
      rows: contestants.map((c) => [
        c.name, results[c.key].perJob.toFixed(2), `${(results[c.key].perJob / plain.perJob).toFixed(3)}×`,
        c.key === 'plain' ? '—' : differences(results[c.key].delta, plain.delta, jobs), `${results[c.key].seconds.toFixed(1)} s`,
      ]),
    }],
  };
}

// Throughput: the same N jobs drained by bouy (1, 2, 4 workers), one plain BullMQ worker and
// PM2 running the plain worker twice, all at the same total concurrency, interleaved per
// repetition so a noisy neighbour hurts every contestant alike. Jobs are enqueued on a paused
// queue and the clock starts at resume, so only processing is timed.
import { bouyFleet, plainFleet, pm2Fleet } from '../fleets.mjs';
import { enqueue, newQueue, untilCompleted } from '../jobs.mjs';
import { rssMb } from '../processes.mjs';
import { cell, ratio, summarize } from '../stats.mjs';

const CONCURRENCY = 16;

export const contestants = [
  { key: 'bouy1', start: (o) => bouyFleet({ ...o, count: 1, concurrency: CONCURRENCY }) },
  { key: 'bouy2', start: (o) => bouyFleet({ ...o, count: 2, concurrency: CONCURRENCY / 2 }) },
  { key: 'bouy4', start: (o) => bouyFleet({ ...o, count: 4, concurrency: CONCURRENCY / 4 }) },
  { key: 'plain', start: (o) => plainFleet({ ...o, concurrency: CONCURRENCY }) },
  { key: 'pm2', start: (o) => pm2Fleet({ ...o, count: 2, concurrency: CONCURRENCY / 2 }) },
];

/** Max RSS of the manager and the sum over workers, sampled while `work` runs. */
async function sampleRss(fleet, work) {
  const peak = { manager: 0, workers: 0, perWorker: 0 };
  const sample = () => {
    const { manager, workers } = fleet.pids();
    if (manager) peak.manager = Math.max(peak.manager, rssMb(manager) ?? 0);
    const each = workers.map((pid) => rssMb(pid) ?? 0);
    peak.workers = Math.max(peak.workers, each.reduce((a, b) => a + b, 0));
    peak.perWorker = Math.max(peak.perWorker, ...each);
  };
  const timer = setInterval(sample, 250);
  try {
    return { result: await work(), peak };
  } finally {
    clearInterval(timer);
    sample();
  }
}

export async function drainOnce(redis, contestant, processor, jobs) {
  const queue = newQueue(redis, `tp-${contestant.key}`);
  await queue.pause();
  await enqueue(queue, jobs);
  const fleet = await contestant.start({ redis, queue: queue.name, processor });
  try {
    await fleet.ready();
    const { result: ms, peak } = await sampleRss(fleet, async () => {
      await queue.resume();
      return untilCompleted(queue, jobs);
    });
    return { jobsPerSecond: (jobs / ms) * 1000, peak };
  } finally {
    await fleet.stop();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

export async function run({ redis, reps, jobs, log }) {
  const data = {};
  const tables = [];
  for (const processor of ['noop', 'io']) {
    const samples = Object.fromEntries(contestants.map((c) => [c.key, []]));
    const peaks = Object.fromEntries(contestants.map((c) => [c.key, []]));
    for (let rep = 0; rep < reps; rep += 1) {
      for (const contestant of contestants) {
        const { jobsPerSecond, peak } = await drainOnce(redis, contestant, processor, jobs);
        samples[contestant.key].push(jobsPerSecond);
        peaks[contestant.key].push(peak);
        log(`throughput ${processor} ${contestant.key} rep ${rep + 1}: ${jobsPerSecond.toFixed(0)} jobs/s`);
      }
    }
    const summaries = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    data[processor] = { summaries, peaks };
    const names = { bouy1: 'bouy 1 worker × 16', bouy2: 'bouy 2 workers × 8', bouy4: 'bouy 4 workers × 4', plain: 'plain BullMQ, 1 process × 16', pm2: 'PM2, 2 instances × 8' };
    tables.push({
      title: `Throughput, ${processor === 'noop' ? 'no-op' : `${process.env.BENCH_IO_MS ?? 5} ms I/O`} jobs (${jobs} jobs, total concurrency ${CONCURRENCY}, jobs/s)`,
      columns: ['runner', 'jobs/s median (min–max)', 'vs plain BullMQ', 'vs PM2'],
      rows: contestants.map((c) => [names[c.key], cell(summaries[c.key]), ratio(summaries[c.key], summaries.plain), ratio(summaries[c.key], summaries.pm2)]),
    });
  }
  return { tables, data };
}

// Throughput: the same N jobs drained by bouy (1, 2, 4 workers), one plain BullMQ worker and
// PM2 running the plain worker twice and four times, all at the same total concurrency,
// interleaved per repetition so a noisy neighbour hurts every contestant alike. Jobs are
// enqueued on a paused queue and the clock starts at resume, so only processing is timed.
// Beside the rate, what the drain cost: CPU seconds (user + system, from /proc) of every
// process of the contestant (manager, workers and their children) per 10,000 jobs.
import { bouyFleet, plainFleet, pm2Fleet } from '../fleets.mjs';
import { enqueue, newQueue, untilCompleted } from '../jobs.mjs';
import { cpuSeconds, descendantPids, rssMb, treeRssMb } from '../processes.mjs';
import { cell, ratio, summarize } from '../stats.mjs';

const CONCURRENCY = 16;

export const contestants = [
  { key: 'bouy1', start: (o) => bouyFleet({ ...o, count: 1, concurrency: CONCURRENCY }) },
  { key: 'bouy2', start: (o) => bouyFleet({ ...o, count: 2, concurrency: CONCURRENCY / 2 }) },
  { key: 'bouy4', start: (o) => bouyFleet({ ...o, count: 4, concurrency: CONCURRENCY / 4 }) },
  { key: 'plain', start: (o) => plainFleet({ ...o, concurrency: CONCURRENCY }) },
  { key: 'pm2', start: (o) => pm2Fleet({ ...o, count: 2, concurrency: CONCURRENCY / 2 }) },
  { key: 'pm2x4', start: (o) => pm2Fleet({ ...o, count: 4, concurrency: CONCURRENCY / 4 }) },
];

/** The PM2 contestant of the same shape (processes × concurrency), for the rows that have one. */
const SAME_SHAPE = { bouy2: 'pm2', bouy4: 'pm2x4' };

/** Every process of the fleet now: the manager (if any), its workers and whatever they started. */
function allPids(fleet) {
  const { manager, workers } = fleet.pids();
  return [...new Set([...(manager ? [manager, ...descendantPids(manager)] : []), ...workers, ...workers.flatMap(descendantPids)])];
}

/** CPU seconds used so far by each of `pids` (a process gone since counts what it had). */
function cpuOf(pids, into = new Map()) {
  for (const pid of pids) {
    const seconds = cpuSeconds(pid);
    if (seconds !== undefined) into.set(pid, seconds);
  }
  return into;
}

/** Seconds Redis itself has counted in commands so far (INFO commandstats, all commands). */
async function commandSeconds(redis) {
  const info = await redis.client.info('commandstats');
  return [...info.matchAll(/usec=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0) / 1e6;
}

/** Max RSS of the manager and the sum over workers (each with its children), sampled while `work` runs. */
async function sampleRss(fleet, work) {
  const peak = { manager: 0, workers: 0, perWorker: 0 };
  const sample = () => {
    const { manager, workers } = fleet.pids();
    if (manager) peak.manager = Math.max(peak.manager, rssMb(manager) ?? 0);
    const each = workers.map((pid) => treeRssMb(pid) ?? 0);
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
    // Sampled right before the resume and right after the last completion: the drain's cost,
    // start-up excluded. A process that appears meanwhile counts from zero.
    const before = cpuOf(allPids(fleet));
    const redisBefore = { cpu: cpuSeconds(redis.pid) ?? 0, commands: await commandSeconds(redis) };
    const { result: ms, peak } = await sampleRss(fleet, async () => {
      await queue.resume();
      return untilCompleted(queue, jobs);
    });
    const after = cpuOf(allPids(fleet));
    const used = (pid) => (after.get(pid) ?? 0) - (before.get(pid) ?? 0);
    const cpu = [...after.keys()].reduce((sum, pid) => sum + used(pid), 0);
    const { manager } = fleet.pids();
    const managerCpu = manager ? used(manager) : 0;
    const per10k = (seconds) => (seconds / jobs) * 10_000;
    return {
      jobsPerSecond: (jobs / ms) * 1000, peak, cpuPer10k: per10k(cpu),
      // Split for `npm run cpu-ab`: the manager alone, and every other process (workers, their children).
      managerPer10k: per10k(managerCpu), workersPer10k: per10k(cpu - managerCpu),
      redisPer10k: per10k((cpuSeconds(redis.pid) ?? 0) - redisBefore.cpu),
      redisCommandsPer10k: per10k((await commandSeconds(redis)) - redisBefore.commands),
    };
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
    const cpu = Object.fromEntries(contestants.map((c) => [c.key, []]));
    for (let rep = 0; rep < reps; rep += 1) {
      for (const contestant of contestants) {
        const { jobsPerSecond, peak, cpuPer10k } = await drainOnce(redis, contestant, processor, jobs);
        samples[contestant.key].push(jobsPerSecond);
        peaks[contestant.key].push(peak);
        cpu[contestant.key].push(cpuPer10k);
        log(`throughput ${processor} ${contestant.key} rep ${rep + 1}: ${jobsPerSecond.toFixed(0)} jobs/s, ${cpuPer10k.toFixed(2)} CPU s per 10,000 jobs`);
      }
    }
    const summaries = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const cpuSummaries = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, summarize(v)]));
    data[processor] = { summaries, peaks, cpuPer10k: cpuSummaries };
    const names = { bouy1: 'bouy 1 worker × 16', bouy2: 'bouy 2 workers × 8', bouy4: 'bouy 4 workers × 4', plain: 'plain BullMQ, 1 process × 16', pm2: 'PM2, 2 instances × 8', pm2x4: 'PM2, 4 instances × 4' };
    tables.push({
      title: `Throughput, ${processor === 'noop' ? 'no-op' : `${process.env.BENCH_IO_MS ?? 5} ms I/O`} jobs (${jobs} jobs, total concurrency ${CONCURRENCY}, jobs/s)`,
      columns: ['runner', 'jobs/s median (min–max)', 'vs plain BullMQ', 'vs PM2', 'vs PM2 of its shape', 'CPU s per 10,000 jobs (all its processes)', 'CPU vs plain BullMQ'],
      rows: contestants.map((c) => [
        names[c.key], cell(summaries[c.key]), ratio(summaries[c.key], summaries.plain), ratio(summaries[c.key], summaries.pm2),
        SAME_SHAPE[c.key] ? ratio(summaries[c.key], summaries[SAME_SHAPE[c.key]]) : '—',
        cell(cpuSummaries[c.key], 's'), ratio(cpuSummaries[c.key], cpuSummaries.plain),
      ]),
    });
  }
  return { tables, data };
}

// CPU-bound jobs, the reason multi-process exists: one Node process runs one job's JavaScript
// at a time whatever its concurrency, so on 2 cores 2 workers should do nearly twice the work.
import { hashRounds } from '../processors/cpu.mjs';
import { bouyFleet, pm2Fleet } from '../fleets.mjs';
import { enqueue, newQueue, untilCompleted } from '../jobs.mjs';
import { cell, ratio, summarize } from '../stats.mjs';

const TARGET_MS = 20;

/** Hash rounds that take about 20 ms here, measured now (machines differ, and so does load). */
export function calibrate() {
  hashRounds(2000);
  const t0 = performance.now();
  hashRounds(20_000);
  const perRound = (performance.now() - t0) / 20_000;
  return Math.max(100, Math.round(TARGET_MS / perRound));
}

const contestants = [
  { key: 'bouy1', name: 'bouy, 1 worker', start: (o) => bouyFleet({ ...o, count: 1, concurrency: 1 }) },
  { key: 'bouy2', name: 'bouy, 2 workers', start: (o) => bouyFleet({ ...o, count: 2, concurrency: 1 }) },
  { key: 'pm2', name: 'PM2, 2 instances', start: (o) => pm2Fleet({ ...o, count: 2, concurrency: 1 }) },
];

export async function run({ redis, reps, cpuJobs, log }) {
  const rounds = calibrate();
  const env = { BENCH_CPU_ROUNDS: String(rounds) };
  const samples = Object.fromEntries(contestants.map((c) => [c.key, []]));
  // Runs are short and CPU figures suffer most from the neighbours: two extra repetitions.
  for (let rep = 0; rep < reps + 2; rep += 1) {
    for (const contestant of contestants) {
      const queue = newQueue(redis, 'cpu');
      await queue.pause();
      await enqueue(queue, cpuJobs);
      const fleet = await contestant.start({ redis, queue: queue.name, processor: 'cpu', env });
      try {
        await fleet.ready();
        await queue.resume();
        const ms = await untilCompleted(queue, cpuJobs);
        samples[contestant.key].push((cpuJobs / ms) * 1000);
        log(`cpu ${contestant.key} rep ${rep + 1}: ${((cpuJobs / ms) * 1000).toFixed(1)} jobs/s`);
      } finally {
        await fleet.stop();
        await queue.obliterate({ force: true }).catch(() => {});
        await queue.close();
      }
    }
  }
  const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  return {
    data: { rounds, summaries: s },
    tables: [{
      title: `CPU-bound jobs (${cpuJobs} jobs of ~${TARGET_MS} ms of SHA-256, ${rounds} rounds; concurrency 1 per process; jobs/s)`,
      columns: ['runner', 'jobs/s median (min–max)', 'vs bouy 1 worker'],
      rows: contestants.map((c) => [c.name, cell(s[c.key]), ratio(s[c.key], s.bouy1)]),
    }],
  };
}

// Recycling: what MAX_JOBS_PER_WORKER costs. The same N 5 ms jobs drained by bouy 2 workers × 8
// without recycling and with a recycle every `jobs / 20` jobs per worker (about 20 recycles a
// run), interleaved per repetition. A recycle drains the worker before its replacement starts,
// so the loss is the drain tail plus one worker start, per recycle.
import { bouyFleet } from '../fleets.mjs';
import { cell, ratio, summarize } from '../stats.mjs';
import { drainOnce } from './throughput.mjs';

export async function run({ redis, reps, jobs, log }) {
  const every = Math.max(50, Math.round(jobs / 20));
  const contestants = [
    { key: 'steady', start: (o) => bouyFleet({ ...o, count: 2, concurrency: 8 }) },
    { key: 'recycling', start: (o) => bouyFleet({ ...o, count: 2, concurrency: 8, env: { MAX_JOBS_PER_WORKER: String(every) } }) },
  ];
  const samples = { steady: [], recycling: [] };
  for (let rep = 0; rep < reps; rep += 1) {
    for (const contestant of contestants) {
      const { jobsPerSecond } = await drainOnce(redis, contestant, 'io', jobs);
      samples[contestant.key].push(jobsPerSecond);
      log(`recycle ${contestant.key} rep ${rep + 1}: ${jobsPerSecond.toFixed(0)} jobs/s`);
    }
  }
  const steady = summarize(samples.steady);
  const recycling = summarize(samples.recycling);
  const recycles = Math.round(jobs / every);
  const lostPerRecycleMs = ((jobs / recycling.median) - (jobs / steady.median)) * 1000 / recycles;
  return {
    data: { every, recycles, steady, recycling, lostPerRecycleMs },
    tables: [{
      title: `Recycling cost: ${jobs} × 5 ms jobs, bouy 2 workers × 8 (jobs/s)`,
      columns: ['run', 'jobs/s median (min–max)', 'vs no recycling', 'time lost per recycle'],
      rows: [
        ['no recycling', cell(steady), '1.00×', '—'],
        [`MAX_JOBS_PER_WORKER=${every} (~${recycles} recycles)`, cell(recycling), ratio(recycling, steady), `${Math.max(0, lostPerRecycleMs).toFixed(0)} ms`],
      ],
    }],
  };
}

// The job side (issue 13): what a job timeout costs per job, and how close a fleet keeps to a
// rate limit. Timeout: the same N jobs drained by bouy with and without JOB_TIMEOUT_SECONDS
// (no job reaches it: the cost is the deadline's timer and the start sent to the supervisor at
// once instead of batched), interleaved per repetition. Rate limit: 2 supervisors x 2 workers x
// concurrency 8 under QUEUE_RATE_LIMIT; achieved starts per second against the limit, and the
// busiest window of the limit's length.
import { bouyFleet } from '../fleets.mjs';
import { enqueue, newQueue, untilCompleted } from '../jobs.mjs';
import { cell, summarize } from '../stats.mjs';

const CONCURRENCY = 16;
const LIMIT = { max: 100, seconds: 1 };
const LIMITED_JOBS = 600;

async function drain(redis, processor, jobs, env) {
  const queue = newQueue(redis, 'tmo');
  await queue.pause();
  await enqueue(queue, jobs);
  const fleet = await bouyFleet({ redis, queue: queue.name, processor, count: 2, concurrency: CONCURRENCY / 2, env });
  try {
    await fleet.ready();
    await queue.resume();
    return (jobs / (await untilCompleted(queue, jobs))) * 1000;
  } finally {
    await fleet.stop();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

async function rateLimited(redis) {
  const queue = newQueue(redis, 'rate');
  await queue.pause();
  await enqueue(queue, LIMITED_JOBS);
  const env = { QUEUE_RATE_LIMIT: `${LIMIT.max}/${LIMIT.seconds}s` };
  const fleets = [];
  try {
    for (const host of ['a', 'b']) fleets.push(await bouyFleet({ redis, queue: queue.name, processor: 'noop', count: 2, concurrency: 8, env: { ...env, BOUY_HOSTNAME: `rate-${host}-${queue.name}` } }));
    await Promise.all(fleets.map((f) => f.ready()));
    await queue.resume();
    await untilCompleted(queue, LIMITED_JOBS);
    const starts = (await queue.getCompleted(0, -1)).map((j) => j.processedOn).sort((x, y) => x - y);
    const spanS = (starts.at(-1) - starts[0]) / 1000;
    let busiest = 0;
    for (let i = 0, j = 0; i < starts.length; i += 1) {
      while (starts[j] - starts[i] < LIMIT.seconds * 1000 && j < starts.length) j += 1;
      busiest = Math.max(busiest, j - i);
    }
    // The first window opens at the first start: (n - max) jobs over the span is the steady rate.
    return { rate: (LIMITED_JOBS - LIMIT.max) / spanS, busiest };
  } finally {
    await Promise.all(fleets.map((f) => f.stop()));
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

export async function run({ redis, reps, jobs, log }) {
  const contestants = [['off', {}], ['on', { JOB_TIMEOUT_SECONDS: '60' }]];
  const samples = { noop: { off: [], on: [] }, io: { off: [], on: [] } };
  for (const processor of ['noop', 'io']) {
    for (let rep = 0; rep < reps; rep += 1) {
      for (const [key, env] of contestants) {
        const perSecond = await drain(redis, processor, jobs, env);
        samples[processor][key].push(perSecond);
        log(`job timeout ${key} ${processor} rep ${rep + 1}: ${perSecond.toFixed(0)} jobs/s`);
      }
    }
  }
  const rates = [];
  for (let rep = 0; rep < reps; rep += 1) {
    const result = await rateLimited(redis);
    rates.push(result);
    log(`rate limit ${LIMIT.max}/${LIMIT.seconds}s rep ${rep + 1}: ${result.rate.toFixed(1)} starts/s, busiest window ${result.busiest}`);
  }
  const summaries = Object.fromEntries(Object.entries(samples).map(([p, v]) => [p, { off: summarize(v.off), on: summarize(v.on) }]));
  const cost = (p) => `${(((summaries[p].off.median - summaries[p].on.median) / summaries[p].off.median) * 100).toFixed(1)} %`;
  const rate = summarize(rates.map((r) => r.rate));
  return {
    data: { summaries, rates },
    tables: [
      {
        title: `Job timeout cost (${jobs} jobs, bouy 2 workers × 8, jobs/s)`,
        columns: ['jobs', 'JOB_TIMEOUT_SECONDS off', 'JOB_TIMEOUT_SECONDS=60', 'cost'],
        rows: ['noop', 'io'].map((p) => [p === 'noop' ? 'no-op' : `${process.env.BENCH_IO_MS ?? 5} ms I/O`, cell(summaries[p].off), cell(summaries[p].on), cost(p)]),
      },
      {
        title: `Rate limit QUEUE_RATE_LIMIT=${LIMIT.max}/${LIMIT.seconds}s, 2 supervisors × 2 workers × 8 (${LIMITED_JOBS} no-op jobs)`,
        columns: ['steady starts/s median (min–max)', 'of the limit', `busiest ${LIMIT.seconds} s window (max over runs)`],
        rows: [[cell(rate), `${((rate.median / (LIMIT.max / LIMIT.seconds)) * 100).toFixed(1)} %`, String(Math.max(...rates.map((r) => r.busiest)))]],
      },
    ],
  };
}

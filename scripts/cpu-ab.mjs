#!/usr/bin/env node
// `npm run cpu-ab -- [--against DIR] [--jobs N] [--reps R] [--workers W] [--concurrency C]`:
// the per-job CPU of bouy's worker processes beside plain BullMQ's, and beside another build
// of bouy (`--against`: a copy of an earlier dist/bundle, e.g. `cp -r dist/bundle /tmp/before`
// on the old commit). Drains of N no-op jobs, interleaved per repetition so a noisy neighbour
// hurts every contestant alike; CPU seconds per 10,000 jobs from /proc, split into bouy's
// supervisor, its workers (with their parent watches) and Redis, with the command time Redis
// itself counted (INFO commandstats). The figures behind "Per-job CPU: the job wrapper" in
// BENCHMARKS.md; the bench's throughput suite prints the same ratio for the current build only.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { argv } from 'zx';
import { bouyFleet, plainFleet } from './bench/fleets.mjs';
import { enqueue, newQueue, untilCompleted } from './bench/jobs.mjs';
import { cpuSeconds, descendantPids } from './bench/processes.mjs';
import { startRedis } from './bench/redis-server.mjs';
import { cell, ratio, summarize } from './bench/stats.mjs';
import { markdownTable } from './bench/table.mjs';

const jobs = Number(argv.jobs ?? 20_000);
const reps = Number(argv.reps ?? 5);
const count = Number(argv.workers ?? 1);
const concurrency = Number(argv.concurrency ?? 16);
const against = argv.against ? path.resolve(String(argv.against), 'entrypoint.js') : undefined;
if (![jobs, reps, count, concurrency].every((n) => Number.isInteger(n) && n > 0) || (against && !existsSync(against)) || concurrency % count !== 0) {
  console.error('cpu-ab: --jobs, --reps, --workers and --concurrency are whole numbers ≥ 1; --against is a directory holding a bundle\'s entrypoint.js; --concurrency a multiple of --workers');
  process.exit(64);
}

const contestants = [
  { key: 'bouy', name: `bouy ${count} × ${concurrency} (this build)`, start: (o) => bouyFleet({ ...o, count, concurrency: concurrency / count }) },
  ...(against ? [{ key: 'against', name: `bouy ${count} × ${concurrency} (${argv.against})`, start: (o) => bouyFleet({ ...o, count, concurrency: concurrency / count, entrypoint: against }) }] : []),
  { key: 'plain', name: `plain BullMQ 1 × ${concurrency}`, start: (o) => plainFleet({ ...o, concurrency }) },
];

/** Redis's own count of microseconds spent in commands, all commands together. */
async function commandMicros(redis) {
  const info = await redis.client.info('commandstats');
  return [...info.matchAll(/usec=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function drain(redis, contestant) {
  const queue = newQueue(redis, `ab-${contestant.key}`);
  await queue.pause();
  await enqueue(queue, jobs);
  const fleet = await contestant.start({ redis, queue: queue.name, processor: 'noop' });
  try {
    await fleet.ready();
    const { manager, workers } = fleet.pids();
    const groups = { supervisor: manager ? [manager] : [], workers: [...workers, ...workers.flatMap(descendantPids)], redis: [redis.pid] };
    const read = () => Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, pids.reduce((s, p) => s + (cpuSeconds(p) ?? 0), 0)]));
    const before = read();
    const microsBefore = await commandMicros(redis);
    await queue.resume();
    const ms = await untilCompleted(queue, jobs);
    const after = read();
    const per10k = (seconds) => (seconds / jobs) * 10_000;
    return {
      jobsPerSecond: (jobs / ms) * 1000,
      ...Object.fromEntries(Object.keys(groups).map((k) => [k, per10k(after[k] - before[k])])),
      redisCommands: per10k(((await commandMicros(redis)) - microsBefore) / 1e6),
    };
  } finally {
    await fleet.stop();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

const redis = await startRedis();
const samples = Object.fromEntries(contestants.map((c) => [c.key, []]));
try {
  for (let rep = 0; rep < reps; rep += 1) {
    for (const contestant of contestants) {
      const run = await drain(redis, contestant);
      samples[contestant.key].push(run);
      console.error(`rep ${rep + 1} ${contestant.key}: ${run.jobsPerSecond.toFixed(0)} jobs/s, workers ${run.workers.toFixed(3)} s, redis ${run.redis.toFixed(3)} s per 10,000`);
    }
  }
} finally {
  await redis.close();
}

const of = (key, field) => summarize(samples[key].map((s) => s[field]));
/** The ratio to plain BullMQ within each repetition (drains minutes apart drift together). */
const paired = (key) => summarize(samples[key].map((s, i) => s.workers / samples.plain[i].workers));
console.log(`\nPer-job CPU: ${jobs} no-op jobs a drain, ${reps} drain${reps === 1 ? "" : "s"} each, interleaved; CPU s per 10,000 jobs, median (min–max)\n`);
console.log(markdownTable(
  ['runner', 'jobs/s', 'worker processes', 'vs plain BullMQ (ratio of medians; paired by repetition)', 'supervisor', 'Redis process', 'Redis command time'],
  contestants.map((c) => [
    c.name, cell(of(c.key, 'jobsPerSecond')), cell(of(c.key, 'workers'), 's'),
    c.key === 'plain' ? '1' : `${ratio(of(c.key, 'workers'), of('plain', 'workers'))}; ${cell(paired(c.key))}×`,
    c.key === 'plain' ? '—' : cell(of(c.key, 'supervisor'), 's'), cell(of(c.key, 'redis'), 's'), cell(of(c.key, 'redisCommands'), 's'),
  ]),
));

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
import { startRedis } from './bench/redis-server.mjs';
import { drainOnce } from './bench/suites/throughput.mjs';
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

const redis = await startRedis();
const samples = Object.fromEntries(contestants.map((c) => [c.key, []]));
try {
  for (let rep = 0; rep < reps; rep += 1) {
    for (const contestant of contestants) {
      const run = await drainOnce(redis, contestant, 'noop', jobs);
      samples[contestant.key].push(run);
      console.error(`rep ${rep + 1} ${contestant.key}: ${run.jobsPerSecond.toFixed(0)} jobs/s, workers ${run.workersPer10k.toFixed(3)} s, redis ${run.redisPer10k.toFixed(3)} s per 10,000`);
    }
  }
} finally {
  await redis.close();
}

const of = (key, field) => summarize(samples[key].map((s) => s[field]));
/** The ratio to plain BullMQ within each repetition (drains minutes apart drift together). */
const paired = (key) => summarize(samples[key].map((s, i) => s.workersPer10k / samples.plain[i].workersPer10k));
console.log(`\nPer-job CPU: ${jobs} no-op jobs a drain, ${reps} drain${reps === 1 ? "" : "s"} each, interleaved; CPU s per 10,000 jobs, median (min–max)\n`);
console.log(markdownTable(
  ['runner', 'jobs/s', 'worker processes', 'vs plain BullMQ (ratio of medians; paired by repetition)', 'supervisor', 'Redis process', 'Redis command time'],
  contestants.map((c) => [
    c.name, cell(of(c.key, 'jobsPerSecond')), cell(of(c.key, 'workersPer10k'), 's'),
    c.key === 'plain' ? '1' : `${ratio(of(c.key, 'workersPer10k'), of('plain', 'workersPer10k'))}; ${cell(paired(c.key))}×`,
    c.key === 'plain' ? '—' : cell(of(c.key, 'managerPer10k'), 's'), cell(of(c.key, 'redisPer10k'), 's'), cell(of(c.key, 'redisCommandsPer10k'), 's'),
  ]),
));

#!/usr/bin/env node
// `npm run bench`: bouy against plain BullMQ and PM2, side by side in one run. Prints markdown
// tables as each suite finishes and writes everything (samples included) to bench-results/.
//   --reps N       repetitions per figure (default 3)
//   --jobs N       jobs per throughput run (default 10000; the 20000 fits only on a quiet machine)
//   --cpu-jobs N   CPU-bound jobs per run (default 200)
//   --command-jobs N  no-op jobs per drain counted by the commands suite (default 5000)
//   --pss-reps N   repetitions of the PSS suite (default 1: no timing in it)
//   --rest-containers 1,10  fleet sizes the rest suite measures (default 1,10)
//   --only a,b     run only these suites (commands, rest, pss, throughput, cpu, startup, restart, recovery, drain, health, stale, recycle, jobs)
import { $, argv, fs, path } from 'zx';
import { machine } from './bench/machine.mjs';
import { startRedis } from './bench/redis-server.mjs';
import { markdownTable } from './bench/table.mjs';
import * as memory from './bench/suites/memory.mjs';

$.verbose = false;
const SUITES = ['commands', 'rest', 'pss', 'throughput', 'cpu', 'startup', 'restart', 'recovery', 'drain', 'health', 'stale', 'recycle', 'jobs'];
const only = argv.only ? String(argv.only).split(',') : SUITES;
const unknown = only.filter((s) => !SUITES.includes(s));
if (unknown.length > 0) {
  console.error(`bench: unknown suite(s) ${unknown.join(', ')}; choose from ${SUITES.join(', ')}`);
  process.exit(64);
}
const options = {
  reps: Number(argv.reps ?? 3),
  jobs: Number(argv.jobs ?? 10_000),
  cpuJobs: Number(argv['cpu-jobs'] ?? 200),
  commandJobs: Number(argv['command-jobs'] ?? 5000),
  pssReps: Number(argv['pss-reps'] ?? 1),
  restContainers: String(argv['rest-containers'] ?? '1,10').split(',').map(Number),
  log: (message) => console.error(`  · ${message}`),
};

const began = performance.now();
const host = machine();
const results = { machine: host, options: { ...options, log: undefined, only }, startedAt: new Date().toISOString(), suites: {} };
const sections = [];
const show = (table) => {
  const text = `### ${table.title}\n\n${markdownTable(table.columns, table.rows)}\n`;
  sections.push(text);
  console.log(`\n${text}`);
};

console.log(`bouy bench: ${host.cpus} × ${host.model}, ${host.memoryGiB} GiB, node ${host.node}, load ${host.loadavg}`);
console.log(`repetitions ${options.reps}, ${options.jobs} jobs per throughput run; figures are median (min–max)`);
// Throughput Redis without persistence: the figures are about the workers, not about fsync.
const redis = await startRedis({ aof: false });
try {
  for (const name of only) {
    const t0 = performance.now();
    console.error(`\n▶ ${name}`);
    const suite = await import(`./bench/suites/${name}.mjs`);
    const result = await suite.run({ redis, ...options });
    results.suites[name] = { ...result.data, seconds: (performance.now() - t0) / 1000 };
    result.tables.forEach(show);
    if (name === 'startup') Object.assign(results, { idle: result.idle, settled: result.settled });
    if (name === 'throughput') results.peaks = result.data.noop.peaks;
  }
  if (results.idle && results.peaks) show(memory.table({ idle: results.idle, settled: results.settled, peaks: results.peaks }));
} finally {
  await redis.close();
}

results.seconds = (performance.now() - began) / 1000;
const stamp = results.startedAt.replace(/[:.]/g, '-');
const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'bench-results');
await fs.mkdirp(dir);
await fs.writeJson(path.join(dir, `bench-${stamp}.json`), results, { spaces: 2 });
await fs.writeFile(path.join(dir, `bench-${stamp}.md`), `${sections.join('\n')}`);
console.log(`\nbench finished in ${results.seconds.toFixed(0)} s; results in bench-results/bench-${stamp}.{json,md}`);
// Exit explicitly: a fetch keep-alive socket or a closing client may hold the loop for a while.
process.exit(0);

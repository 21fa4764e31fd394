#!/usr/bin/env node
// `npm run profile -- [--workers W] [--concurrency C] [--jobs N] [--runner bouy|plain]`: drains N
// no-op jobs through one fleet with a CPU profile of every process, then prints where each
// process spent its CPU (an inspector profile, scripts/bench/cpu-profile.mjs) (self time by package and by function) and the CPU seconds per 10,000
// jobs read from /proc. The profile behind the "where the time goes" table of BENCHMARKS.md.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { argv } from 'zx';
import { UNBUNDLED_ENTRYPOINT } from './bench/bouy.mjs';
import { bouyFleet, plainFleet } from './bench/fleets.mjs';
import { enqueue, newQueue, untilCompleted } from './bench/jobs.mjs';
import { cpuSeconds } from './bench/processes.mjs';
import { startRedis } from './bench/redis-server.mjs';

const workers = Number(argv.workers ?? 1);
const concurrency = Number(argv.concurrency ?? 16);
const jobs = Number(argv.jobs ?? 20_000);
const runner = String(argv.runner ?? 'bouy');
const top = Number(argv.top ?? 12);
if (![workers, concurrency, jobs].every((n) => Number.isInteger(n) && n > 0) || !['bouy', 'plain'].includes(runner)) {
  console.error('profile: --workers, --concurrency and --jobs are whole numbers ≥ 1; --runner is bouy or plain');
  process.exit(64);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-profile-'));
const redis = await startRedis();
const queue = newQueue(redis, 'profile');
try {
  await queue.pause();
  await enqueue(queue, jobs);
  const env = { NODE_OPTIONS: `--import=${path.join(import.meta.dirname, 'bench', 'cpu-profile.mjs')}`, BENCH_CPU_PROFILE_DIR: dir, LOG_LEVEL: 'warn' };
  const fleet = runner === 'bouy'
    ? await bouyFleet({ redis, queue: queue.name, processor: 'noop', count: workers, concurrency, env, entrypoint: UNBUNDLED_ENTRYPOINT })
    : plainFleet({ redis, queue: queue.name, processor: 'noop', concurrency, env });
  await fleet.ready();
  const { manager, workers: pids } = fleet.pids();
  const all = [manager, ...pids].filter(Boolean);
  const before = all.map(cpuSeconds);
  // V8's profile clock is the monotonic clock, as hrtime is: only the drain's samples count.
  const drainFrom = Number(process.hrtime.bigint() / 1000n);
  await queue.resume();
  const ms = await untilCompleted(queue, jobs);
  const drainTo = Number(process.hrtime.bigint() / 1000n);
  const after = all.map(cpuSeconds);
  await fleet.stop();
  const per10k = (i) => (((after[i] ?? 0) - (before[i] ?? 0)) / jobs) * 10_000;
  console.log(`${runner} ${workers} × ${concurrency}: ${jobs} no-op jobs in ${(ms / 1000).toFixed(2)} s (${((jobs / ms) * 1000).toFixed(0)} jobs/s)`);
  console.log(`CPU s per 10,000 jobs: ${all.map((pid, i) => `${pid === manager ? 'supervisor' : `worker ${pid}`} ${per10k(i).toFixed(3)}`).join(', ')}; in all ${all.reduce((s, _, i) => s + per10k(i), 0).toFixed(3)}`);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) summarize(path.join(dir, file), drainFrom, drainTo);
} finally {
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await redis.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Self time by package (node_modules/<name>, bouy's dist, node internals) and the top functions. */
function summarize(file, from, to) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const intervals = profile.timeDeltas;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += intervals[i] ?? 0;
    if (at >= from && at <= to) self.set(id, (self.get(id) ?? 0) + (intervals[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const packageOf = (url) => {
    if (!url) return '(native / GC / idle)';
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (nm) return nm[1];
    if (url.includes('/dist/')) return 'bouy (dist)';
    if (url.startsWith('node:')) return 'node internals';
    return path.basename(url);
  };
  const byPackage = new Map();
  const byFunction = new Map();
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    const pkg = callFrame.functionName === '(idle)' ? '(idle)' : packageOf(callFrame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    const fn = `${callFrame.functionName || '(anonymous)'} ${callFrame.url ? `${path.basename(callFrame.url)}:${callFrame.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const pct = (us) => `${((us / total) * 100).toFixed(1)} %`;
  const busy = total - (byPackage.get('(idle)') ?? 0);
  console.log(`\n${path.basename(file)}: ${(total / 1e6).toFixed(2)} s sampled during the drain, ${(busy / 1e6).toFixed(2)} s busy`);
  for (const [pkg, us] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  ${pct(us).padStart(7)}  ${pkg}`);
  console.log('  top functions (self):');
  for (const [fn, us] of [...byFunction].filter(([f]) => !f.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us).padStart(7)}  ${fn}`);
}

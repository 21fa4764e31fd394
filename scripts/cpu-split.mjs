#!/usr/bin/env node
// `node scripts/cpu-split.mjs [--jobs N] [--pairs P] [--concurrency C] [--interval US]`: where a
// bouy worker's CPU per job goes that a plain BullMQ Worker's does not. Pairs of drains of N
// no-op jobs (bouy 1 × C, tsc's unbundled build so each frame names its module; then plain
// BullMQ 1 × C), each worker process under V8's sampling profiler (scripts/bench/cpu-profile.mjs,
// every US µs). Each sample of the drain is charged to the code that spent it: its own module
// (bouy's file, or node_modules/<package>), or, for a sample in Node's internals or a native
// builtin, the nearest caller that is bouy's or a package's ("node under X"), so the cost of
// what bouy calls (IPC, timers, AbortController) lands on bouy's file that called it. Prints µs
// per job per charge for both and the difference, beside the /proc CPU of the same drains.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { argv } from 'zx';
import { UNBUNDLED_ENTRYPOINT } from './bench/bouy.mjs';
import { bouyFleet, plainFleet } from './bench/fleets.mjs';
import { enqueue, newQueue, untilCompleted } from './bench/jobs.mjs';
import { threadCpuSeconds } from './bench/processes.mjs';
import { startRedis } from './bench/redis-server.mjs';
import { summarize } from './bench/stats.mjs';
import { markdownTable } from './bench/table.mjs';

const jobs = Number(argv.jobs ?? 20_000);
const pairs = Number(argv.pairs ?? 3);
const concurrency = Number(argv.concurrency ?? 16);
const interval = Number(argv.interval ?? 200);
const minUs = Number(argv['min-us'] ?? 0.3);
/** Functions whose inclusive time (their own and all they call) gets a row: `--inclusive a,b`. */
const inclusive = String(argv.inclusive ?? 'setSocketTimeout,run,settle,started,ended,finished,afterJob,track,untrack').split(',').filter(Boolean);
if (![jobs, pairs, concurrency, interval].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('cpu-split: --jobs, --pairs, --concurrency and --interval (µs between samples) are whole numbers ≥ 1');
  process.exit(64);
}

const OTHER_THREADS = "the process's other threads (V8's GC and compiler helpers, libuv)";

const DETAIL = ' · ';
const INCLUSIVE = 'inclusive: ';
const GROUPS = {
  bouy: "bouy's own modules, with the Node internals they call (IPC, timers)",
  socketTimeout: "ioredis's socket timeout (setSocketTimeout: a timer re-armed per reply; bouy sets socketTimeout)",
  libraries: 'the rest of BullMQ, ioredis, msgpackr and the Node internals under them',
  gc: "GC: the main thread's and V8's helper threads (with the compiler's)",
  rest: 'the event loop, microtasks, (program), the processor',
};

const contestants = [
  { key: 'bouy', start: (o) => bouyFleet({ ...o, count: 1, concurrency, entrypoint: UNBUNDLED_ENTRYPOINT }) },
  // `--plain-redis-options '{"socketTimeout":15000}'`: plain BullMQ with one of bouy's connection options, to price it alone.
  // `--plain-import dist/worker/worker-runtime.js`: plain BullMQ in a process that has also loaded (not run) bouy's worker code, to see what a bigger process alone costs.
  { key: 'plain', start: (o) => plainFleet({ ...o, concurrency, env: { ...o.env, ...plainEnv(o.env) } }) },
];

function plainEnv(env) {
  return {
    ...(argv['plain-redis-options'] ? { BENCH_REDIS_OPTIONS: String(argv['plain-redis-options']) } : {}),
    ...(argv['plain-import'] ? { NODE_OPTIONS: `${env.NODE_OPTIONS} --import=${path.resolve(String(argv['plain-import']))}` } : {}),
  };
}

const root = mkdtempSync(path.join(os.tmpdir(), 'bouy-cpu-split-'));
const redis = await startRedis();
/** key → one { procUs, busyUs, charges: Map } per pair, all per job. */
const runs = { bouy: [], plain: [] };
const loads = [os.loadavg()[0]];
try {
  for (let pair = 0; pair < pairs; pair += 1) {
    // Each goes first in every other pair: whatever drifts during a pair (load, Redis's memory) falls on both alike.
    for (const contestant of pair % 2 === 0 ? contestants : [...contestants].reverse()) {
      const dir = path.join(root, `${pair}-${contestant.key}`);
      mkdirSync(dir);
      const run = await profiledDrain(contestant, dir);
      runs[contestant.key].push(run);
      loads.push(os.loadavg()[0]);
      console.error(`pair ${pair + 1} ${contestant.key}: ${run.jobsPerSecond.toFixed(0)} jobs/s, worker ${run.procUs.toFixed(1)} µs/job (/proc), ${run.busyUs.toFixed(1)} µs/job sampled busy; load ${os.loadavg()[0].toFixed(1)}`);
    }
  }
} finally {
  await redis.close();
  rmSync(root, { recursive: true, force: true });
}
report();

async function profiledDrain(contestant, dir) {
  const queue = newQueue(redis, `split-${contestant.key}`);
  await queue.pause();
  await enqueue(queue, jobs);
  const env = {
    NODE_OPTIONS: `--import=${path.join(import.meta.dirname, 'bench', 'cpu-profile.mjs')}`,
    BENCH_CPU_PROFILE_DIR: dir, BENCH_CPU_PROFILE_INTERVAL_US: String(interval),
  };
  const fleet = await contestant.start({ redis, queue: queue.name, processor: 'noop', env });
  try {
    await fleet.ready();
    const { workers } = fleet.pids();
    const before = workers.map(threadCpuSeconds);
    const ioBefore = workers.map(ioCounts);
    // V8's profile clock is the monotonic clock, as hrtime is: only the drain's samples count.
    const from = Number(process.hrtime.bigint() / 1000n);
    await queue.resume();
    const ms = await untilCompleted(queue, jobs);
    const to = Number(process.hrtime.bigint() / 1000n);
    const used = workers.map((pid, i) => threadsUsed(pid, before[i], threadCpuSeconds(pid)));
    const io = workers.map((pid, i) => { const after = ioCounts(pid); return Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] - ioBefore[i][k]) / jobs])); });
    await fleet.stop();
    // A sample's time is wall time (a thread the kernel holds off the CPU still ages it), so
    // each charge is its share of the busy samples times the main thread's CPU from /proc.
    const charges = new Map();
    let sampledUs = 0;
    for (const [i, pid] of workers.entries()) {
      const sampled = chargesOf(path.join(dir, `${pid}.cpuprofile`), from, to);
      for (const key of sampled.keys()) if (key.startsWith(`(idle)${DETAIL}`)) sampled.delete(key);
      const busy = [...sampled].filter(([key]) => !key.startsWith(INCLUSIVE)).reduce((a, [, us]) => a + us, 0);
      sampledUs += busy;
      for (const [charge, us] of sampled) charges.set(charge, (charges.get(charge) ?? 0) + ((us / busy) * used[i].main * 1e6) / jobs);
      charges.set(OTHER_THREADS, (charges.get(OTHER_THREADS) ?? 0) + (used[i].helpers * 1e6) / jobs);
    }
    const perJob = (field) => (used.reduce((s, u) => s + u[field], 0) * 1e6) / jobs;
    return { io: io[0], jobsPerSecond: (jobs / ms) * 1000, procUs: perJob('main') + perJob('helpers'), profilerUs: perJob('profiler'), busyUs: sampledUs / jobs, charges };
  } finally {
    await fleet.stop().catch(() => {});
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

/** Read and write system calls and bytes so far (/proc/<pid>/io): writes to Redis are most of them. */
function ioCounts(pid) {
  const fields = Object.fromEntries(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]));
  return { syscr: fields.syscr, syscw: fields.syscw, rchar: fields.rchar, wchar: fields.wchar };
}

/** A worker's CPU seconds between two reads: its main thread, V8's and libuv's helpers, the profiler's thread (the measurement's, not the worker's). */
function threadsUsed(pid, before, after) {
  const used = { main: 0, helpers: 0, profiler: 0 };
  for (const [tid, { name, seconds }] of after) {
    const field = tid === pid ? 'main' : name === 'v8:ProfEvntProc' ? 'profiler' : 'helpers';
    used[field] += seconds - (before.get(tid)?.seconds ?? 0);
  }
  return used;
}

/** Whose code a frame is: bouy's module, a package, the processor, Node's internals (null), or native (null). */
function ownerOf({ url }) {
  if (!url || url.startsWith('node:')) return null;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const dist = /\/dist\/(.+)\.js$/.exec(url);
  if (dist) return `bouy ${dist[1]}`;
  if (url.includes('/processors/')) return 'the processor (no-op)';
  return path.basename(url);
}

/** µs of the drain's samples by charge (see the header), from one .cpuprofile. */
function chargesOf(file, from, to) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const chargeOf = new Map();
  const charge = (id) => {
    if (chargeOf.has(id)) return chargeOf.get(id);
    const { callFrame } = byId.get(id);
    let result;
    if (['(idle)', '(garbage collector)', '(program)', '(root)'].includes(callFrame.functionName)) result = callFrame.functionName;
    else {
      result = ownerOf(callFrame);
      if (result === null) {
        let up = parent.get(id);
        while (up !== undefined && ownerOf(byId.get(up).callFrame) === null) up = parent.get(up);
        result = `node under ${up === undefined ? '(event loop)' : ownerOf(byId.get(up).callFrame)}`;
      }
    }
    chargeOf.set(id, result);
    return result;
  };
  const inclusiveMemo = new Map();
  /** The watched functions on a sample's stack, each once (in bouy's files for bouy's names; ioredis's for setSocketTimeout). */
  const inclusiveOf = (id) => {
    if (inclusiveMemo.has(id)) return inclusiveMemo.get(id);
    const names = new Set();
    for (let up = id; up !== undefined; up = parent.get(up)) {
      const { functionName, url } = byId.get(up).callFrame;
      if (inclusive.includes(functionName) && (/\/dist\//.test(url) && !url.includes('node_modules') || url.includes('ioredis'))) names.add(functionName);
    }
    inclusiveMemo.set(id, names);
    return names;
  };
  const out = new Map();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to) return;
    // `charge · function file:line` (the sample's own frame): report() sums them by charge too.
    const { callFrame } = byId.get(id);
    const key = `${charge(id)}${DETAIL}${callFrame.functionName || '(anonymous)'}${callFrame.url ? ` ${path.basename(callFrame.url)}:${callFrame.lineNumber + 1}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
    for (const name of inclusiveOf(id)) { const k = `${INCLUSIVE}${name}()`; out.set(k, (out.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0)); }
  });
  return out;
}

function report() {
  // By function first (the detail table), then summed by charge.
  const functions = (r) => new Map([...r.charges].filter(([key]) => !key.startsWith(INCLUSIVE)));
  const inclusives = (all) => new Map([...all].filter(([key]) => key.startsWith(INCLUSIVE)));
  const byCharge = (r) => {
    const sums = new Map();
    for (const [key, us] of r.charges) { if (key.startsWith(INCLUSIVE)) continue; const c = key.split(DETAIL)[0]; sums.set(c, (sums.get(c) ?? 0) + us); }
    return { ...r, charges: sums, _all: r.charges };
  };
  const detail = { bouy: runs.bouy.map((r) => ({ ...r, charges: functions(r) })), plain: runs.plain.map((r) => ({ ...r, charges: functions(r) })) };
  runs.bouy = runs.bouy.map(byCharge);
  runs.plain = runs.plain.map(byCharge);
  table({ bouy: runs.bouy.map(grouped), plain: runs.plain.map(grouped) }, 0, 'grouped (the groups add up to the worker\'s /proc CPU)');
  table(runs, minUs, 'by charge');
  table(detail, Number(argv['min-function-us'] ?? 0.4), 'by function (the sample\'s own frame), where either side spends ≥ the threshold');
  table({ bouy: detail.bouy.map((r, i) => ({ ...r, charges: inclusives(runs.bouy[i]._all) })), plain: detail.plain.map((r, i) => ({ ...r, charges: inclusives(runs.plain[i]._all) })) }, 0, 'inclusive time of named functions (their own and all they call; bouy\'s files, and ioredis\'s setSocketTimeout)', false);
  const per = (key, field, digits) => summarize(runs[key].map((r) => r.io[field])).median.toFixed(digits);
  console.log(`\nSystem calls per job (/proc/<pid>/io, median): bouy ${per('bouy', 'syscw', 2)} writes of ${per('bouy', 'wchar', 0)} bytes, ${per('bouy', 'syscr', 2)} reads of ${per('bouy', 'rchar', 0)} bytes; plain ${per('plain', 'syscw', 2)} writes of ${per('plain', 'wchar', 0)} bytes, ${per('plain', 'syscr', 2)} reads of ${per('plain', 'rchar', 0)} bytes`);
}

/**
 * A run's charges in five groups that add up to its CPU: bouy's own code; ioredis's socket
 * timeout (a timer per reply, on because bouy sets `socketTimeout`); the rest of the libraries'
 * code and the Node internals under it; GC and V8's helper threads; the event loop and the rest.
 */
function grouped(r) {
  const socketTimeout = r._all.get(`${INCLUSIVE}setSocketTimeout()`) ?? 0;
  const groups = new Map([[GROUPS.bouy, 0], [GROUPS.socketTimeout, socketTimeout], [GROUPS.libraries, -socketTimeout], [GROUPS.gc, 0], [GROUPS.rest, 0]]);
  for (const [charge, us] of r.charges) {
    const group = /^(node under )?bouy /.test(charge) ? GROUPS.bouy
      : charge === '(garbage collector)' || charge === OTHER_THREADS ? GROUPS.gc
        : charge.startsWith('(') || charge === 'node under (event loop)' || charge.includes('processor') ? GROUPS.rest
          : GROUPS.libraries;
    groups.set(group, groups.get(group) + us);
  }
  return { ...r, charges: groups };
}

function table(runs, minUs, title, footer = true) {
  const med = (values) => summarize(values).median;
  const range = (values, digits = 1) => { const s = summarize(values); return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`; };
  const bouyOwn = (r) => [...r.charges].filter(([c]) => /^(node under )?bouy /.test(c)).reduce((sum, [, us]) => sum + us, 0);
  const charges = [...new Set([...runs.bouy, ...runs.plain].flatMap((r) => [...r.charges.keys()]))];
  const of = (key, charge) => runs[key].map((r) => r.charges.get(charge) ?? 0);
  const diff = (charge) => runs.bouy.map((r, i) => (r.charges.get(charge) ?? 0) - (runs.plain[i].charges.get(charge) ?? 0));
  const procDiff = runs.bouy.map((r, i) => r.procUs - runs.plain[i].procUs);
  const rows = charges
    .filter((c) => Math.max(med(of('bouy', c)), med(of('plain', c))) >= minUs)
    .sort((a, b) => med(diff(b)) - med(diff(a)))
    .map((c) => [c, range(of('bouy', c)), range(of('plain', c)), range(diff(c)), `${((med(diff(c)) / med(procDiff)) * 100).toFixed(0)} %`]);
  console.log(`\n${title}: worker CPU per job, ${jobs} no-op jobs a drain, ${pairs} pairs (bouy 1 × ${concurrency} unbundled, plain BullMQ 1 × ${concurrency}), sampled every ${interval} µs; CPU µs per job (each charge: its share of the main thread's samples × that thread's /proc CPU), median (min–max) over the pairs; load average ${loads.map((l) => l.toFixed(1)).join(' → ')}\n`);
  console.log(markdownTable(['charged to', 'bouy', 'plain', 'bouy − plain (paired)', 'share of the difference'], [
    ...rows,
    ...(footer ? [] : [['**worker process, /proc (all threads but the profiler\'s)**', range(runs.bouy.map((r) => r.procUs)), range(runs.plain.map((r) => r.procUs)), range(procDiff), '100 %']]),
  ].concat(!footer ? [] : [
    ['**worker process, /proc (all threads but the profiler\'s)**', range(runs.bouy.map((r) => r.procUs)), range(runs.plain.map((r) => r.procUs)), range(procDiff), '100 %'],
    ['the profiler\'s own thread (not counted above)', range(runs.bouy.map((r) => r.profilerUs)), range(runs.plain.map((r) => r.profilerUs)), '—', '—'],
    ['busy samples, wall µs per job (main thread; inflated by load)', range(runs.bouy.map((r) => r.busyUs)), range(runs.plain.map((r) => r.busyUs)), '—', '—'],
    ...(!runs.bouy.some((r) => bouyOwn(r) > 0) ? [] : [['bouy\'s own modules and the node internals they call (sum)', range(runs.bouy.map(bouyOwn)), '—', range(runs.bouy.map(bouyOwn)), `${((med(runs.bouy.map(bouyOwn)) / med(procDiff)) * 100).toFixed(0)} %`]]),
    ['/proc ratio, paired', range(runs.bouy.map((r, i) => r.procUs / runs.plain[i].procUs), 2), '1', '—', '—'],
    ['jobs/s', range(runs.bouy.map((r) => r.jobsPerSecond)), range(runs.plain.map((r) => r.jobsPerSecond)), '—', '—'],
  ])));
}

// Memory as a container is charged for it (issue 21, goal 2): PSS beside RSS, for bouy, PM2 and
// plain BullMQ processes, at 1, 4 and 20 worker processes (concurrency 4 each), idle and while
// draining no-op jobs. RSS counts Node's own binary and libraries (~40 MiB) once per process
// although the kernel holds them once; PSS splits every shared page between the processes that
// map it, so a container's processes sum to what its memory accounting sees, and a manager
// process (bouy's supervisor, PM2's daemon) costs what it adds, not a second copy of Node.
// Also the cost of a concurrency slot: one process at concurrency 1 and 16, draining 5 ms jobs.
import { bouyFleet, plainFleet, pm2Fleet } from '../fleets.mjs';
import { enqueue, newQueue, untilCompleted } from '../jobs.mjs';
import { descendantPids, pssMb, rssMb } from '../processes.mjs';
import { cell, summarize } from '../stats.mjs';
import { sleep } from '../wait.mjs';

const SIZES = [1, 4, 20];
const CONCURRENCY = 4;
/** V8's memory reducer runs ~10-20 s after start-up's allocations stop: what a fleet sits at. */
const IDLE_MS = Number(process.env.BENCH_PSS_IDLE_MS ?? 15_000);

/** n plain BullMQ worker processes, no manager: what a container of plain workers would run. */
function plainProcesses(o) {
  const fleets = Array.from({ length: o.count }, () => plainFleet(o));
  return {
    ready: async (t) => { await Promise.all(fleets.map((f) => f.ready(t))); },
    pids: () => ({ manager: undefined, workers: fleets.map((f) => f.proc.pid) }),
    stop: () => Promise.all(fleets.map((f) => f.stop())),
  };
}

const KINDS = {
  bouy: (o) => bouyFleet(o),
  pm2: (o) => pm2Fleet(o),
  plain: (o) => plainProcesses(o),
};

/** PSS and RSS of the manager, and of the workers summed (each with what it started). */
function footprint(fleet) {
  const { manager, workers } = fleet.pids();
  const tree = (pid) => [pid, ...descendantPids(pid)];
  const sum = (pids, read) => pids.reduce((s, pid) => s + (read(pid) ?? 0), 0);
  const workerPids = workers.flatMap(tree);
  // A manager's own descendants other than the workers (none for bouy and PM2; counted if any).
  const managerPids = manager ? [manager, ...descendantPids(manager).filter((p) => !workerPids.includes(p))] : [];
  return {
    managerPss: sum(managerPids, pssMb), managerRss: sum(managerPids, rssMb),
    workersPss: sum(workerPids, pssMb), workersRss: sum(workerPids, rssMb), workers: workers.length,
  };
}
const total = (f, field) => f[`manager${field}`] + f[`workers${field}`];

async function measure(redis, kind, count, concurrency, processor, jobs) {
  const queue = newQueue(redis, `pss-${kind}`);
  const fleet = await KINDS[kind]({ redis, queue: queue.name, processor, count, concurrency });
  try {
    await fleet.ready(180_000);
    await sleep(IDLE_MS);
    const idle = footprint(fleet);
    await queue.pause();
    await enqueue(queue, jobs);
    let peak;
    const sample = () => {
      const now = footprint(fleet);
      if (!peak || total(now, 'Pss') > total(peak, 'Pss')) peak = now;
    };
    const timer = setInterval(sample, 250);
    try {
      await queue.resume();
      await untilCompleted(queue, jobs);
    } finally {
      clearInterval(timer);
    }
    sample();
    return { idle, draining: peak };
  } finally {
    await fleet.stop();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

export async function run({ redis, log, pssReps = 1 }) {
  const samples = {};
  const slots = {};
  // PSS moves little between repetitions (no timing in it): one unless --pss-reps says more.
  for (let rep = 0; rep < pssReps; rep += 1) {
    for (const count of SIZES) {
      for (const kind of Object.keys(KINDS)) {
        const m = await measure(redis, kind, count, CONCURRENCY, 'noop', Math.max(4000, count * 500));
        (samples[`${kind}${count}`] ??= []).push(m);
        log(`pss ${kind} ${count}: idle ${total(m.idle, 'Pss').toFixed(0)} MiB PSS (${total(m.idle, 'Rss').toFixed(0)} RSS), draining ${total(m.draining, 'Pss').toFixed(0)} (${total(m.draining, 'Rss').toFixed(0)})`);
      }
    }
    for (const kind of ['bouy', 'plain']) {
      for (const concurrency of [1, 16]) {
        const m = await measure(redis, kind, 1, concurrency, 'io', 4000);
        (slots[`${kind}${concurrency}`] ??= []).push(m);
        log(`pss slots ${kind} 1 × ${concurrency}: draining ${total(m.draining, 'Pss').toFixed(0)} MiB PSS`);
      }
    }
  }
  const of = (list, state, pick) => summarize(list.map((m) => pick(m[state])));
  const rows = [];
  for (const count of SIZES) {
    for (const state of ['idle', 'draining']) {
      const row = [`${count}`, state === 'idle' ? `idle (${IDLE_MS / 1000} s after ready)` : 'draining no-op jobs (peak)'];
      for (const kind of Object.keys(KINDS)) {
        const list = samples[`${kind}${count}`];
        row.push(`${cell(of(list, state, (f) => total(f, 'Pss')))} / ${cell(of(list, state, (f) => total(f, 'Rss')))}`);
      }
      const bouy = of(samples[`bouy${count}`], state, (f) => total(f, 'Pss')).median;
      row.push(`${(bouy / of(samples[`pm2${count}`], state, (f) => total(f, 'Pss')).median).toFixed(2)}× / ${(bouy / of(samples[`plain${count}`], state, (f) => total(f, 'Pss')).median).toFixed(2)}×`);
      row.push(`${cell(of(samples[`bouy${count}`], state, (f) => f.managerPss))} / ${cell(of(samples[`pm2${count}`], state, (f) => f.managerPss))}`);
      row.push(`${cell(of(samples[`bouy${count}`], state, (f) => f.workersPss / f.workers))} / ${cell(of(samples[`plain${count}`], state, (f) => f.workersPss / f.workers))}`);
      rows.push(row);
    }
  }
  const slotRows = ['bouy', 'plain'].map((kind) => {
    const one = of(slots[`${kind}1`], 'draining', (f) => total(f, 'Pss'));
    const sixteen = of(slots[`${kind}16`], 'draining', (f) => total(f, 'Pss'));
    return [kind === 'bouy' ? 'bouy, 1 worker (supervisor included)' : 'plain BullMQ, 1 process', cell(one), cell(sixteen), ((sixteen.median - one.median) / 15).toFixed(2)];
  });
  return {
    data: { samples, slots, idleMs: IDLE_MS },
    tables: [{
      title: `Memory of a container, PSS / RSS (MiB, manager and every worker process summed; ${CONCURRENCY} concurrency per process)`,
      columns: ['worker processes', 'state', 'bouy (supervisor + workers)', 'PM2 (daemon + instances)', 'plain BullMQ processes', 'bouy PSS vs PM2 / plain', 'manager PSS: bouy supervisor / PM2 daemon', 'PSS per worker process: bouy / plain'],
      rows,
    }, {
      title: 'Memory per concurrency slot: one process draining 5 ms jobs, PSS (MiB, peak)',
      columns: ['runner', 'concurrency 1', 'concurrency 16', 'per slot ((16 − 1) / 15)'],
      rows: slotRows,
    }],
  };
}

// Start-up: process spawn to every worker consuming (bouy: /readyz answers 200; PM2: every
// instance has reported its BullMQ worker ready), and the idle memory of the result.
import { bouyFleet, pm2Fleet } from '../fleets.mjs';
import { newQueue } from '../jobs.mjs';
import { rssMb, treeRssMb } from '../processes.mjs';
import { cell, ratio, summarize } from '../stats.mjs';
import { sleep } from '../wait.mjs';

const SIZES = [1, 4, 20];
/**
 * A quiet fleet's footprint twice: soon after ready (start-up's garbage still held), and once
 * V8's memory reducer has run its idle collections (it starts some seconds after allocation
 * stops: ~10 s for a supervisor, ~20 s for a worker here), which is what a fleet sits at.
 */
const IDLE_SOON_MS = 1500;
const IDLE_SETTLED_MS = 25_000;

function idleRss(fleet) {
  const { manager, workers } = fleet.pids();
  // A worker counts with what it started (bouy's parent watch): the cost of one worker.
  return { manager: manager ? rssMb(manager) : undefined, workers: workers.map(treeRssMb).filter(Boolean) };
}

export async function run({ redis, reps, log }) {
  const samples = {};
  const idle = { bouy: [], pm2: [] };
  const settled = { bouy: [], pm2: [] };
  for (let rep = 0; rep < reps; rep += 1) {
    for (const n of SIZES) {
      for (const [kind, start] of [['bouy', bouyFleet], ['pm2', pm2Fleet]]) {
        const queue = newQueue(redis, 'startup');
        const fleet = await start({ redis, queue: queue.name, processor: 'noop', count: n, concurrency: 1 });
        try {
          const ms = await fleet.ready(120_000);
          (samples[`${kind}${n}`] ??= []).push(ms);
          log(`start-up ${kind} ${n}: ${ms.toFixed(0)} ms`);
          if (n === 4) {
            await sleep(IDLE_SOON_MS);
            idle[kind].push(idleRss(fleet));
            await sleep(IDLE_SETTLED_MS - IDLE_SOON_MS);
            settled[kind].push(idleRss(fleet));
          }
        } finally {
          await fleet.stop();
          await queue.close();
        }
      }
    }
  }
  const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  return {
    data: { summaries: s, idle, settled },
    idle,
    settled,
    tables: [{
      title: 'Start-up: process start to every worker ready (ms)',
      columns: ['workers', 'bouy (to /readyz 200)', 'PM2 (pm2-runtime, every instance ready)', 'bouy / PM2'],
      rows: SIZES.map((n) => [String(n), cell(s[`bouy${n}`], 'ms'), cell(s[`pm2${n}`], 'ms'), ratio(s[`bouy${n}`], s[`pm2${n}`])]),
    }],
  };
}

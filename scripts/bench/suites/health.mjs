// Health endpoint under load: autocannon against /health and /readyz while every worker is
// busy (4 workers × 4, 20 ms I/O jobs, queue never empty), and against an idle fleet for
// reference. autocannon runs in this process, on the same 2 cores: a harsh but fair setting.
import autocannon from 'autocannon';
import { bouyFleet } from '../fleets.mjs';
import { enqueue, newQueue } from '../jobs.mjs';
import { cell, latencyCell, summarize } from '../stats.mjs';
import { waitFor } from '../wait.mjs';

const DURATION_S = 3;
const CONNECTIONS = 10;

/** As fast as it answers, or at `rate` requests a second in all (the 1,000/s figure). */
async function hammer(url, rate) {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, ...(rate ? { overallRate: rate } : {}) });
  return { p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average, errors: result.errors + result.non2xx };
}

export async function run({ redis, reps, log }) {
  const queue = newQueue(redis, 'health');
  const fleet = await bouyFleet({ redis, queue: queue.name, processor: 'io', count: 4, concurrency: 4, env: { BENCH_IO_MS: '20' } });
  const runs = { idle: [], busyHealth: [], busyHealthAt1000: [], busyReadyz: [] };
  try {
    await fleet.ready();
    const base = `http://127.0.0.1:${fleet.proc.port}`;
    for (let rep = 0; rep < reps; rep += 1) runs.idle.push(await hammer(`${base}/health`));
    // 16 slots × 50 jobs/s each: enough jobs that the queue stays full while autocannon runs.
    await enqueue(queue, Math.ceil(16 * (1000 / 20) * DURATION_S * reps * 3.5)); // three busy runs a repetition
    await waitFor(async () => (await fleet.proc.health()).workers.every((w) => w.jobs_active > 0), 'every worker busy');
    for (let rep = 0; rep < reps; rep += 1) {
      runs.busyHealth.push(await hammer(`${base}/health`));
      runs.busyHealthAt1000.push(await hammer(`${base}/health`, 1000));
      runs.busyReadyz.push(await hammer(`${base}/readyz`));
      log(`health busy rep ${rep + 1}: ${JSON.stringify(runs.busyHealth.at(-1))}`);
    }
    const stillBusy = (await queue.getWaitingCount()) > 0;
    if (!stillBusy) log('health: warning, the queue ran dry before the last run');
  } finally {
    await fleet.stop(5_000);
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  const row = (name, list) => [name, latencyCell(summarize(list.map((r) => r.p50))), latencyCell(summarize(list.map((r) => r.p99))),
    cell(summarize(list.map((r) => r.rps))), String(list.reduce((n, r) => n + r.errors, 0))];
  return {
    data: runs,
    tables: [{
      title: `Health endpoint (autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per run, 4 workers × 4)`,
      columns: ['endpoint', 'latency p50', 'latency p99', 'requests/s', 'errors + non-2xx'],
      rows: [
        row('/health, idle fleet', runs.idle),
        row('/health, every worker busy', runs.busyHealth),
        row('/health at 1,000 requests/s, every worker busy', runs.busyHealthAt1000),
        row('/readyz, every worker busy', runs.busyReadyz),
      ],
    }],
  };
}

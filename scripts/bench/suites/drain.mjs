// Drain: SIGTERM while jobs run. bouy finishes the active jobs (within SHUTDOWN_TIMEOUT_SECONDS)
// and leaves the waiting ones queued; PM2 stops its instances with SIGINT and kills them after
// its kill_timeout (1.6 s by default), so longer jobs are cut off and sit "active" until some
// worker's stall detection returns them. Both sides are counted job by job.
import { randomUUID } from 'node:crypto';
import { bouyFleet, pm2Fleet } from '../fleets.mjs';
import { enqueue, newQueue } from '../jobs.mjs';
import { parseRecords } from '../processors/record.mjs';
import { cell, summarize } from '../stats.mjs';
import { waitFor } from '../wait.mjs';

const JOB_MS = 2000;
const WORKERS = 2;
const CONCURRENCY = 4;
const ACTIVE = WORKERS * CONCURRENCY;
const TOTAL = ACTIVE * 2;

async function drainOnce(redis, start) {
  const queue = newQueue(redis, 'drain');
  const prefix = `drain-${randomUUID().slice(0, 8)}`;
  const fleet = await start({ redis, queue: queue.name, processor: 'record', count: WORKERS, concurrency: CONCURRENCY,
    env: { BENCH_RECORD_PREFIX: prefix } });
  try {
    await fleet.ready();
    await enqueue(queue, TOTAL, { ms: JOB_MS }, 'd');
    await waitFor(async () => (await redis.client.llen(`${prefix}:started`)) >= ACTIVE, `${ACTIVE} jobs active`);
    const t0 = performance.now();
    await fleet.stop();
    const exitMs = performance.now() - t0;
    const counts = await queue.getJobCounts('completed', 'waiting', 'active', 'failed', 'delayed', 'prioritized');
    const starts = parseRecords(await redis.client.lrange(`${prefix}:started`, 0, -1));
    const reruns = starts.length - new Set(starts.map((s) => s.id)).size;
    const accounted = counts.completed + counts.waiting + counts.delayed + counts.prioritized + counts.active;
    return { exitMs, ...counts, reruns, lost: TOTAL - accounted + counts.failed };
  } finally {
    await fleet.stop();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

export async function run({ redis, reps, log }) {
  const runs = { bouy: [], pm2: [] };
  for (let rep = 0; rep < reps; rep += 1) {
    for (const [kind, start] of [['bouy', bouyFleet], ['pm2', pm2Fleet]]) {
      const result = await drainOnce(redis, start);
      runs[kind].push(result);
      log(`drain ${kind}: ${JSON.stringify(result)}`);
    }
  }
  const med = (kind, field) => summarize(runs[kind].map((r) => r[field]));
  const total = (kind, field) => String(runs[kind].reduce((sum, r) => sum + r[field], 0));
  return {
    data: runs,
    tables: [{
      title: `Drain: SIGTERM with ${ACTIVE} jobs of ${JOB_MS / 1000} s active and ${TOTAL - ACTIVE} waiting (${WORKERS} processes × ${CONCURRENCY}); counts summed over ${reps} runs`,
      columns: ['runner', 'SIGTERM → exit', 'completed', 'left waiting', 'left active (stuck until stall detection)', 'lost'],
      rows: [['bouy', 'bouy (SHUTDOWN_TIMEOUT_SECONDS=25)'], ['pm2', 'PM2 (default kill_timeout 1.6 s)']].map(([k, name]) =>
        [name, cell(med(k, 'exitMs'), 'ms'), total(k, 'completed'), total(k, 'waiting'), total(k, 'active'), total(k, 'lost')]),
    }],
  };
}

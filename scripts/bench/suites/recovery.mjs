// Recovery: SIGKILL the process running a job, time until the job starts again. bouy's
// supervisor returns a dead worker's jobs to the queue at once; plain BullMQ (run by PM2,
// default settings) waits for stall detection (lock expiry plus the 30 s stalled check).
import { randomUUID } from 'node:crypto';
import { bouyFleet, pm2Fleet } from '../fleets.mjs';
import { newQueue } from '../jobs.mjs';
import { parseRecords } from '../processors/record.mjs';
import { cell, ratio, summarize } from '../stats.mjs';
import { waitFor } from '../wait.mjs';

const HOLD_MS = 120_000;

async function startsOf(redis, prefix, jobId) {
  return parseRecords(await redis.client.lrange(`${prefix}:started`, 0, -1)).filter((r) => r.id === jobId);
}

/** Enqueues one long job, kills whoever runs it, returns ms until it starts again. */
async function killHolder(redis, queue, prefix) {
  const jobId = `hold-${randomUUID().slice(0, 8)}`;
  await queue.add('hold', { ms: HOLD_MS, holdOnce: true }, { jobId });
  const [first] = await waitFor(async () => (await startsOf(redis, prefix, jobId)).length >= 1 && startsOf(redis, prefix, jobId), `${jobId} started`);
  const killedAt = Date.now();
  process.kill(first.pid, 'SIGKILL');
  const again = await waitFor(async () => (await startsOf(redis, prefix, jobId))[1], `${jobId} started again`, HOLD_MS, 10);
  await waitFor(async () => (await queue.getJobState(jobId)) === 'completed', `${jobId} completed`, 30_000);
  return again.at - killedAt;
}

async function withFleet(redis, start, options, work) {
  const queue = newQueue(redis, 'recovery');
  const prefix = `rec-${randomUUID().slice(0, 8)}`;
  const fleet = await start({ redis, queue: queue.name, processor: 'record', concurrency: 1, ...options,
    env: { BENCH_RECORD_PREFIX: prefix, ...options.env } });
  try {
    await fleet.ready();
    return await work(queue, prefix, fleet);
  } finally {
    await fleet.stop();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

export async function run({ redis, reps, log }) {
  // PM2's waits are long (stall detection), so its repetitions run side by side, each with its
  // own fleet and queue, while bouy's run one after the other.
  const pm2 = Promise.all(Array.from({ length: reps }, () =>
    withFleet(redis, pm2Fleet, { count: 2 }, (queue, prefix) => killHolder(redis, queue, prefix))));
  const sibling = await withFleet(redis, bouyFleet, { count: 2, env: { MIN_UPTIME_SECONDS: '0' } }, async (queue, prefix, fleet) => {
    const samples = [];
    for (let i = 0; i < reps + 2; i += 1) {
      // The slot killed last round restarts after 10 s; until then the other is not "free".
      await fleet.ready();
      samples.push(await killHolder(redis, queue, prefix));
    }
    return samples;
  });
  log(`recovery bouy 2 workers: ${sibling.map((s) => s.toFixed(0)).join(', ')} ms`);
  // Back-to-back kills of a fresh worker are what crash-loop detection is for; keep its
  // back-off out of a figure about recovery.
  const alone = await withFleet(redis, bouyFleet, { count: 1, env: { MIN_UPTIME_SECONDS: '0' } }, async (queue, prefix, fleet) => {
    const samples = [];
    for (let i = 0; i < reps; i += 1) {
      await fleet.ready();
      samples.push(await killHolder(redis, queue, prefix));
    }
    return samples;
  });
  log(`recovery bouy 1 worker: ${alone.map((s) => s.toFixed(0)).join(', ')} ms`);
  const plain = await pm2;
  log(`recovery PM2 plain BullMQ: ${plain.map((s) => s.toFixed(0)).join(', ')} ms`);

  const s = { sibling: summarize(sibling), alone: summarize(alone), pm2: summarize(plain) };
  return {
    data: s,
    tables: [{
      title: 'Recovery: SIGKILL of the worker running a job to that job running again (ms)',
      columns: ['runner', 'kill → job starts again', 'vs PM2 + plain BullMQ'],
      rows: [
        ['bouy, 2 workers (the other one is free)', cell(s.sibling, 'ms'), ratio(s.sibling, s.pm2)],
        ['bouy, 1 worker (waits for its replacement, RESTART_DELAY_SECONDS=10)', cell(s.alone, 'ms'), ratio(s.alone, s.pm2)],
        ['PM2, 2 instances of plain BullMQ, defaults (stall detection)', cell(s.pm2, 'ms'), '1.00×'],
      ],
    }],
  };
}

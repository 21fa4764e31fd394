// One bounded chaos run on loopback: a Redis persisting as production must (AOF, fsync on
// every write, noeviction), a supervisor kept running, a producer enqueueing jobs with unique
// ids, and a loop of random faults: SIGKILL a worker, SIGTERM the supervisor and start it
// again, kill Redis and start it again. Then the faults stop, the fleet finishes the queue,
// and every job is accounted for.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { PROCESSORS } from '../bench/bouy.mjs';
import { childPids } from '../bench/processes.mjs';
import { startRedis } from '../bench/redis-server.mjs';
import { sleep } from '../bench/wait.mjs';
import { parseRecords } from '../bench/processors/record.mjs';
import { account } from './account.mjs';
import { keepSupervisor } from './keeper.mjs';
import { seeded } from './random.mjs';

const isWorker = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker-process');
  } catch {
    return false;
  }
};

/** Enqueues `jobs` jobs in small batches spread over `spreadMs`; ids job-0 … job-(N-1). */
async function produce(queue, jobs, spreadMs, random) {
  const batch = 10;
  const pause = spreadMs / Math.ceil(jobs / batch);
  for (let from = 0; from < jobs; from += batch) {
    const items = [];
    for (let i = from; i < Math.min(jobs, from + batch); i += 1) {
      items.push({ name: 'chaos', data: { ms: Math.round(random.between(10, 150)) }, opts: { jobId: `job-${i}` } });
    }
    // A unique id makes a retried add harmless: BullMQ ignores an id it already has.
    for (;;) {
      try {
        await queue.addBulk(items);
        break;
      } catch {
        await sleep(200);
      }
    }
    await sleep(pause);
  }
}

async function finalStates(queue, ids) {
  const states = new Map();
  const types = ['completed', 'failed', 'active', 'wait', 'paused', 'prioritized', 'delayed', 'waiting-children'];
  for (const type of types) {
    for (const id of await queue.getRanges([type], 0, -1)) states.set(id, type);
  }
  const failedReasons = {};
  for (const id of ids) {
    if (states.get(id) !== 'failed') continue;
    const job = await queue.getJob(id);
    failedReasons[job?.failedReason ?? 'unknown'] = (failedReasons[job?.failedReason ?? 'unknown'] ?? 0) + 1;
  }
  return { states, failedReasons };
}

/** Ids BullMQ's stall detection moved back (its `stc` counter): those bouy did not hand back. */
async function stalledJobs(client, queueName, ids) {
  const pipeline = client.pipeline();
  for (const id of ids) pipeline.hget(`bull:${queueName}:${id}`, 'stc');
  const replies = (await pipeline.exec()) ?? [];
  return ids.filter((_, i) => Number(replies[i]?.[1] ?? 0) > 0);
}

export async function chaos({ jobs, seconds, workers = 3, concurrency = 2, seed = Date.now() % 100_000, settleSeconds = 15, log }) {
  const random = seeded(seed);
  const redis = await startRedis({ aof: true });
  const queueName = `chaos-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(queueName, { connection: redis.client });
  queue.on('error', () => {});
  const recordPrefix = `chaos-rec-${randomUUID().slice(0, 8)}`;
  const keeper = keepSupervisor({
    REDIS_URL: redis.url, QUEUE_NAME: queueName, PROCESSOR: `${PROCESSORS}/record.mjs`, BENCH_RECORD_PREFIX: recordPrefix,
    WORKER_COUNT: String(workers), WORKER_CONCURRENCY: String(concurrency), BOUY_HOSTNAME: 'chaos', BOUY_PREFIX: `bouy-${queueName}`,
    // Faults come every second or two: restart at once and never call it a crash loop, else
    // the run measures back-off instead of recovery. A short drain keeps restarts moving.
    RESTART_DELAY_SECONDS: '0', MIN_UPTIME_SECONDS: '0', SHUTDOWN_TIMEOUT_SECONDS: '3', HEARTBEAT_SECONDS: '1', LOG_LEVEL: 'warn',
  }, log);
  const faults = { workerKills: 0, supervisorRestarts: 0, redisRestarts: 0 };
  const began = Date.now();
  let settledMs = 0;
  let stallWaitMs = 0;
  try {
    await keeper.start();
    const producing = produce(queue, jobs, seconds * 1000 * 0.6, random);
    const end = began + seconds * 1000;
    const opening = random.shuffle(['kill-worker', 'restart-supervisor', 'restart-redis']);
    while (Date.now() < end) {
      await sleep(random.between(400, 1600));
      // Every kind of fault once first (in a random order), then at random by weight.
      const fault = opening.shift() ?? random.weighted([['kill-worker', 6], ['restart-supervisor', 2], ['restart-redis', 2]]);
      if (fault === 'kill-worker') {
        const pids = childPids(keeper.pid ?? 0).filter(isWorker);
        if (pids.length === 0) {
          opening.unshift(fault); // none up yet (all restarting): kill one next time
          continue;
        }
        const pid = random.pick(pids);
        process.kill(pid, 'SIGKILL');
        faults.workerKills += 1;
        log(`SIGKILL worker ${pid}`);
      } else if (fault === 'restart-supervisor') {
        log('SIGTERM supervisor');
        await keeper.restart();
        faults.supervisorRestarts += 1;
      } else {
        // SIGKILL, not a polite shutdown: with appendfsync always every acknowledged write is
        // already on disk, which is the point.
        log('SIGKILL redis-server');
        await redis.stop('SIGKILL');
        await sleep(random.between(200, 1500));
        await redis.start();
        faults.redisRestarts += 1;
        log('redis-server started again');
      }
    }
    await producing;
    log('faults stopped; letting the fleet finish the queue');
    const settleStart = Date.now();
    const done = async () => (await queue.getCompletedCount()) >= jobs;
    while (!(await done()) && Date.now() - settleStart < settleSeconds * 1000) await sleep(100);
    settledMs = Date.now() - settleStart;
    // Jobs whose worker died while Redis was away could not be handed back at once; BullMQ's
    // stall detection (lock 30 s + check every 30 s) returns them. Wait for it, and say so.
    if (!(await done()) && (await queue.getActiveCount()) > 0) {
      log('some jobs are still active with a dead owner: waiting for BullMQ stall detection');
      const stallStart = Date.now();
      while (!(await done()) && Date.now() - stallStart < 75_000) await sleep(250);
      stallWaitMs = Date.now() - stallStart;
    }
  } finally {
    await keeper.stop().catch(() => {});
  }
  try {
    const ids = Array.from({ length: jobs }, (_, i) => `job-${i}`);
    const { states, failedReasons } = await finalStates(queue, ids);
    const started = parseRecords(await redis.client.lrange(`${recordPrefix}:started`, 0, -1));
    const finished = parseRecords(await redis.client.lrange(`${recordPrefix}:finished`, 0, -1));
    const verdict = account({ ids, states, started, finished });
    const stalled = await stalledJobs(redis.client, queueName, ids);
    const startsOf = (id) => started.filter((r) => r.id === id).map((r) => ((r.at - began) / 1000).toFixed(1));
    return {
      stalled: stalled.map((id) => ({ id, startedAtSeconds: startsOf(id) })),
      seed, jobs, seconds, faults, supervisorUnexpectedExits: keeper.unexpected, failedReasons,
      settleMs: settledMs, stallWaitMs, elapsedMs: Date.now() - began, runs: started.length, ...verdict,
    };
  } finally {
    await queue.close();
    await redis.close();
  }
}

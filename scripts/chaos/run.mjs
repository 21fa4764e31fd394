// One bounded chaos run on loopback: a Redis persisting as production must (AOF, fsync on
// every write, noeviction), a supervisor kept running and a second one (a peer container), a
// producer enqueueing jobs with unique ids — a few of them exit their worker mid-job, a few
// are poison (they hang their worker every time) — and a loop of random faults: SIGKILL a
// worker, SIGTERM the supervisor and start it again, SIGKILL it mid-drain and start it again,
// SIGKILL the peer's whole process group and never restart it (a new peer under a new name
// comes later, as a rescheduled pod would), kill Redis and start it again. Then the faults
// stop, the fleet finishes the queue, and every job is accounted for: poison jobs failed, all
// others completed, none stranded.
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBouy } from '../bench/bouy.mjs';
import { childPids } from '../bench/processes.mjs';
import { startRedis } from '../bench/redis-server.mjs';
import { sleep } from '../bench/wait.mjs';
import { parseRecords } from '../bench/processors/record.mjs';
import { account, ranTwiceAtOnce } from './account.mjs';
import { startBlackholeProxy } from './blackhole-proxy.mjs';
import { keepSupervisor } from './keeper.mjs';
import { seeded } from './random.mjs';
import { longestWait, watchStranded } from './watch.mjs';

/** Debian's libfaketime (the clock-skew fault): without it, no peer is skewed. */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const PROCESSOR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'processor.mjs');
const HEARTBEAT_SECONDS = 1;
/** A dead peer's jobs are back within 3 heartbeats + 2 s: stranded longer is a failure. */
const STRANDED_GOAL_MS = (3 * HEARTBEAT_SECONDS + 2) * 1000;

const isWorker = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker-process');
  } catch {
    return false;
  }
};

/**
 * Enqueues `jobs` jobs in small batches spread over `spreadMs`; ids job-0 … job-(N-1). Those in
 * `poison` hang their worker every run; those in `exits` exit it on their first run.
 */
async function produce(queue, jobs, spreadMs, random, poison, exits) {
  const batch = 10;
  const pause = spreadMs / Math.ceil(jobs / batch);
  for (let from = 0; from < jobs; from += batch) {
    const items = [];
    for (let i = from; i < Math.min(jobs, from + batch); i += 1) {
      const data = { ms: Math.round(random.between(10, 150)) };
      if (poison.has(`job-${i}`)) data.poison = true;
      if (exits.has(`job-${i}`)) data.exit = true;
      items.push({ name: 'chaos', data, opts: { jobId: `job-${i}` } });
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
  const killsOf = new Map(); // id → N of a "killed its worker N times" failure
  for (const id of ids) {
    if (states.get(id) !== 'failed') continue;
    const job = await queue.getJob(id);
    failedReasons[job?.failedReason ?? 'unknown'] = (failedReasons[job?.failedReason ?? 'unknown'] ?? 0) + 1;
    const kills = /^killed its worker (\d+) times/.exec(job?.failedReason ?? '');
    if (kills) killsOf.set(id, Number(kills[1]));
  }
  return { states, failedReasons, killsOf };
}

/** Ids BullMQ's stall detection moved back (its `stc` counter): those bouy did not hand back. */
async function stalledJobs(client, queueName, ids) {
  const pipeline = client.pipeline();
  for (const id of ids) pipeline.hget(`bull:${queueName}:${id}`, 'stc');
  const replies = (await pipeline.exec()) ?? [];
  return ids.filter((_, i) => Number(replies[i]?.[1] ?? 0) > 0);
}

export async function chaos({ jobs, seconds, workers = 3, concurrency = 2, seed = Date.now() % 100_000, settleSeconds = 15, poison: poisonCount = 3, log }) {
  const random = seeded(seed);
  // A few poison jobs, and 2% (at least one) that exit their worker mid-job, at random places.
  const picked = random.shuffle(Array.from({ length: jobs }, (_, i) => `job-${i}`));
  const poison = new Set(picked.slice(0, poisonCount));
  const exits = new Set(picked.slice(poisonCount, poisonCount + Math.max(1, Math.round(jobs * 0.02))));
  const redis = await startRedis({ aof: true });
  const queueName = `chaos-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(queueName, { connection: redis.client });
  queue.on('error', () => {});
  const recordPrefix = `chaos-rec-${randomUUID().slice(0, 8)}`;
  const prefix = `bouy-${queueName}`;
  const env = {
    REDIS_URL: redis.url, CHAOS_RECORD_URL: redis.url, QUEUE_NAME: queueName, PROCESSOR, BENCH_RECORD_PREFIX: recordPrefix,
    WORKER_COUNT: String(workers), WORKER_CONCURRENCY: String(concurrency), BOUY_HOSTNAME: 'chaos', BOUY_PREFIX: prefix,
    // Faults come every second or two: restart at once and never call it a crash loop, else
    // the run measures back-off instead of recovery. A short drain keeps restarts moving; a
    // short hang timeout finds poison jobs quickly.
    RESTART_DELAY_SECONDS: '0', MIN_UPTIME_SECONDS: '0', SHUTDOWN_TIMEOUT_SECONDS: '3', HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
    WORKER_HANG_TIMEOUT_SECONDS: '2', MAX_JOB_KILLS: '2', LOG_LEVEL: process.env.CHAOS_LOG ? 'debug' : 'warn',
  };
  // When each worker process died (pid → ms): our kills, and the supervisors' exit lines.
  const deaths = new Map();
  const onLine = (line) => {
    if (process.env.CHAOS_LOG) appendFileSync(process.env.CHAOS_LOG, `${JSON.stringify(line)}\n`);
    // Every worker that died, whatever the supervisor was doing: a crash, a hang the watchdog
    // killed, and one that died while its supervisor stopped ('worker stopped', not exit 0).
    // Its own clock may be skewed (the clock-skew fault): ours, on receipt, is the run's.
    const msg = typeof line.msg === 'string' ? line.msg : '';
    const died = /^worker (exited unexpectedly|is crash-looping)/.test(msg) || (msg === 'worker stopped' && line.exit !== 'exit code 0');
    if (died && line.pid && !deaths.has(line.pid)) deaths.set(line.pid, Date.now());
  };
  const died = (pids) => {
    for (const pid of pids) if (!deaths.has(pid)) deaths.set(pid, Date.now());
  };
  const keeper = keepSupervisor(env, log, { onLine });
  // The peer: another container on the same Redis and queue, killed whole and never restarted;
  // a new one under a new name comes a few seconds later (a rescheduled pod).
  let peer;
  let peers = 0;
  let peerComing;
  let peerPending = false; // a start of the next peer is scheduled or under way
  // The peers reach Redis through a proxy that the half-open fault black-holes (their old
  // connections go silent, new ones work), and some run on a skewed clock (libfaketime).
  const proxy = await startBlackholeProxy(redis.port);
  const skews = existsSync(LIBFAKETIME) ? ['+30s', '-20s', '+12s', null, null] : [null];
  const startPeer = async () => {
    peers += 1;
    const skew = random.pick(skews);
    if (skew) faults.skewedPeers += 1;
    try {
      peer = await startBouy({
        ...env, REDIS_URL: proxy.url, WORKER_COUNT: '1', BOUY_HOSTNAME: `chaos-peer-${peers}`,
        ...(skew ? { LD_PRELOAD: LIBFAKETIME, FAKETIME: skew } : {}),
      }, { keepLines: false, detached: true, onLine });
      if (skew) log(`peer chaos-peer-${peers} started with its clock at ${skew}`);
    } finally {
      peerPending = false;
    }
  };
  const watch = watchStranded(redis.client, { queueName, prefix, heartbeatMs: HEARTBEAT_SECONDS * 1000 });
  const faults = { workerKills: 0, supervisorRestarts: 0, supervisorKillsMidDrain: 0, peerKills: 0, redisRestarts: 0, halfOpens: 0, skewedPeers: 0 };
  const began = Date.now();
  let settledMs;
  let stallWaitMs = 0;
  try {
    await keeper.start();
    await startPeer();
    const producing = produce(queue, jobs, seconds * 1000 * 0.6, random, poison, exits);
    const end = began + seconds * 1000;
    const opening = random.shuffle(['kill-worker', 'restart-supervisor', 'kill-supervisor-mid-drain', 'kill-peer', 'restart-redis', 'half-open']);
    while (Date.now() < end) {
      await sleep(random.between(400, 1600));
      // Every kind of fault once first (in a random order), then at random by weight.
      const fault = opening.shift() ?? random.weighted([
        ['kill-worker', 6], ['restart-supervisor', 2], ['kill-supervisor-mid-drain', 1], ['kill-peer', 1], ['restart-redis', 2], ['half-open', 1],
      ]);
      if (fault === 'kill-worker') {
        const pids = childPids(keeper.pid ?? 0).filter(isWorker);
        if (pids.length === 0) {
          opening.unshift(fault); // none up yet (all restarting): kill one next time
          continue;
        }
        const pid = random.pick(pids);
        process.kill(pid, 'SIGKILL');
        died([pid]);
        faults.workerKills += 1;
        log(`SIGKILL worker ${pid}`);
      } else if (fault === 'restart-supervisor') {
        log('SIGTERM supervisor');
        await keeper.restart();
        faults.supervisorRestarts += 1;
      } else if (fault === 'kill-supervisor-mid-drain') {
        log('SIGTERM supervisor, then SIGKILL while it drains');
        await keeper.killMidDrain(random.between(100, 1000), (pid) => died(childPids(pid).filter(isWorker)));
        faults.supervisorKillsMidDrain += 1;
      } else if (fault === 'half-open') {
        // Every connection of the peer goes silent (no RST, no FIN); new ones get through.
        proxy.blackhole({ newConnections: 'forward' });
        faults.halfOpens += 1;
        log('half-open: the peer\'s Redis connections black-holed (new ones get through)');
      } else if (fault === 'kill-peer') {
        if (!peer?.running) {
          // A peer that exited on its own (its start refused while Redis was away: exit 69) is
          // started again, as an orchestrator would; without it, this fault waited for ever and
          // the rest of the run had no faults at all.
          if (!peerPending) {
            peerPending = true;
            peerComing = startPeer();
          }
          opening.unshift(fault); // the next peer is not up yet
          continue;
        }
        died(childPids(peer.pid).filter(isWorker));
        process.kill(-peer.pid, 'SIGKILL');
        faults.peerKills += 1;
        log(`SIGKILL peer container ${peer.pid} (process group); not restarted`);
        peerPending = true;
        peerComing = sleep(8000).then(startPeer);
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
    const done = async () => {
      const counts = await queue.getJobCounts('completed', 'failed');
      // Every job ended: an innocent one failed by MAX_JOB_KILLS (accounted apart) ended too,
      // and waiting for it to complete kept the run in the stall wait for 75 s for nothing.
      return counts.completed + counts.failed >= jobs && counts.failed >= poison.size;
    };
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
    await peerComing?.catch(() => {});
    await Promise.all([keeper.stop().catch(() => {}), peer?.stop(60_000).catch(() => {})]);
    await proxy.close();
  }
  const strandedView = watch.stop(STRANDED_GOAL_MS);
  try {
    const ids = Array.from({ length: jobs }, (_, i) => `job-${i}`);
    const { states, failedReasons, killsOf } = await finalStates(queue, ids);
    const started = parseRecords(await redis.client.lrange(`${recordPrefix}:started`, 0, -1));
    const finished = parseRecords(await redis.client.lrange(`${recordPrefix}:finished`, 0, -1));
    for (const entry of await redis.client.lrange(`${recordPrefix}:deaths`, 0, -1)) {
      const [, pid, at] = entry.split('|');
      if (!deaths.has(Number(pid))) deaths.set(Number(pid), Number(at));
    }
    const verdict = account({ ids, states, started, finished, poison, killsOf, deaths });
    const concurrent = ranTwiceAtOnce(started, finished);
    const stalled = await stalledJobs(redis.client, queueName, ids);
    const startsOf = (id) => started.filter((r) => r.id === id).map((r) => ((r.at - began) / 1000).toFixed(1));
    return {
      stalled: stalled.map((id) => ({ id, startedAtSeconds: startsOf(id) })),
      seed, jobs, seconds, faults, supervisorUnexpectedExits: keeper.unexpected, failedReasons,
      poisonJobs: poison.size, exitJobs: exits.size, strandedGoalMs: STRANDED_GOAL_MS,
      strandedIds: strandedView.stranded,
      strandedSpans: strandedView.strandedSpans.map((s) => ({ id: s.id, fromSeconds: ((s.at - began) / 1000).toFixed(1), seconds: (s.ms / 1000).toFixed(1), token: s.token, open: s.open === true })),
      longestOrphaned: strandedView.longest, longestWait: longestWait(started, deaths),
      settleMs: settledMs, stallWaitMs, elapsedMs: Date.now() - began, runs: started.length, ranTwiceAtOnce: concurrent, ...verdict,
    };
  } finally {
    await queue.close();
    await redis.close();
  }
}

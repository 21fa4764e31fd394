// The chaos run's processor: records every start and finish like the bench's
// (scripts/bench/processors/record.mjs: `id|pid|ms`), but stamped with Redis's TIME, so runs on
// supervisors with skewed clocks (the clock-skew fault) are compared on one clock. And it
// misbehaves on request. data.exit: the first run calls process.exit(0) in the middle of the
// job (after noting when, so the run can time the hand-back). data.poison: every run blocks the
// worker's event loop for good, until the hang watchdog kills it; past MAX_JOB_KILLS the job
// must end `failed`.
import { Redis } from 'ioredis';

// The records go straight to Redis (CHAOS_RECORD_URL), never through the proxy that the
// half-open fault black-holes: a record write hung on a dead connection left the job running
// for ever (seeds 76928, 12826: 2 jobs each), a fault of the processor's own connection, not
// of bouy's, and the ledger must outlive the faults it measures.
const redis = new Redis(process.env.CHAOS_RECORD_URL ?? process.env.REDIS_URL, { maxRetriesPerRequest: null });
redis.on('error', () => {});
const prefix = process.env.BENCH_RECORD_PREFIX ?? 'record';

/** RPUSH `${entry}|<Redis TIME in ms>` to KEYS[1]. */
const STAMPED = `local t = redis.call('TIME')
return redis.call('RPUSH', KEYS[1], ARGV[1] .. '|' .. t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)))`;
const note = (list, job) => redis.eval(STAMPED, 1, `${prefix}:${list}`, `${job.id}|${process.pid}`);

export default async function chaosProcessor(job) {
  if (job.data?.poison) {
    await note('poisoned', job);
    for (;;) { /* stuck: no timer, no IPC, no lock renewal */ }
  }
  if (job.data?.exit && (await redis.set(`${prefix}:exited:${job.id}`, '1', 'NX')) === 'OK') {
    await note('started', job);
    await note('deaths', job);
    process.exit(0);
  }
  await note('started', job);
  const ms = Number(job.data?.ms ?? 0);
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  await note('finished', job);
  return null;
}

// The chaos run's processor: records like the bench's (scripts/bench/processors/record.mjs),
// and misbehaves on request. data.exit: the first run calls process.exit(0) in the middle of
// the job (after noting when, so the run can time the hand-back). data.poison: every run blocks
// the worker's event loop for good, until the hang watchdog kills it; past MAX_JOB_KILLS the job
// must end `failed`.
import { Redis } from 'ioredis';
import record from '../bench/processors/record.mjs';

const redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
redis.on('error', () => {});
const prefix = process.env.BENCH_RECORD_PREFIX ?? 'record';

export default async function chaosProcessor(job) {
  if (job.data?.poison) {
    await redis.rpush(`${prefix}:poisoned`, `${job.id}|${process.pid}|${Date.now()}`);
    for (;;) { /* stuck: no timer, no IPC, no lock renewal */ }
  }
  if (job.data?.exit && (await redis.set(`${prefix}:exited:${job.id}`, '1', 'NX')) === 'OK') {
    await redis.rpush(`${prefix}:started`, `${job.id}|${process.pid}|${Date.now()}`);
    await redis.rpush(`${prefix}:deaths`, `${job.id}|${process.pid}|${Date.now()}`);
    process.exit(0);
  }
  return record(job);
}

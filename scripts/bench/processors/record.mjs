// Benchmark and chaos processor: records every start and finish of a job in Redis (a list per
// kind, each entry `id|pid|ms-since-epoch`) so a run can count how often each job ran and when.
// job.data.ms makes the job take that long; job.data.holdOnce makes only its first run take
// that long (a re-run after a kill finishes at once, so recovery is easy to time).
import { Redis } from 'ioredis';

const redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
redis.on('error', () => {});
const prefix = process.env.BENCH_RECORD_PREFIX ?? 'record';

export default async function record(job) {
  await redis.rpush(`${prefix}:started`, `${job.id}|${process.pid}|${Date.now()}`);
  const ms = Number(job.data?.ms ?? 0);
  const first = job.data?.holdOnce ? await redis.set(`${prefix}:held:${job.id}`, '1', 'NX') : 'OK';
  if (ms > 0 && first) await new Promise((resolve) => setTimeout(resolve, ms));
  await redis.rpush(`${prefix}:finished`, `${job.id}|${process.pid}|${Date.now()}`);
  return null;
}

/** Parses a record list into `{ id, pid, at }` entries. */
export function parseRecords(entries) {
  return entries.map((entry) => {
    const [id, pid, at] = entry.split('|');
    return { id, pid: Number(pid), at: Number(at) };
  });
}

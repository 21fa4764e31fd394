import type { Queue } from 'bullmq';
import type { RedisClient as Redis } from '../redis.js';
import { lockOwner } from './keys.js';

/** Job hash field counting the workers that died running the job (BullMQ's `stc` for kills). */
export const KILLS_FIELD = 'bouy:kills';

/**
 * One kill per lock token, whoever counts it and however often: every fetch of a job takes a
 * new token, so two reclaimers finding the same dead worker's job count it once.
 */
const COUNT_KILL = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[1], 'bouy:kill-token') == ARGV[1] then
  return tonumber(redis.call('HGET', KEYS[1], '${KILLS_FIELD}') or '0')
end
redis.call('HSET', KEYS[1], 'bouy:kill-token', ARGV[1])
return redis.call('HINCRBY', KEYS[1], '${KILLS_FIELD}', 1)`;

/** Counts one kill against the job at `jobKey` held under `token`; its kills so far (-1: no such job). */
export async function countKill(redis: Redis, jobKey: string, token: string): Promise<number> {
  return Number(await redis.eval(COUNT_KILL, 1, jobKey, token));
}

/**
 * Of the jobs a dead worker held, those its death counts against: the ones with the most kills
 * so far (all of them at a first death). A poison job dies every time, so after its first death
 * it leads every group it dies in, while the innocent jobs fetched beside it (a worker runs up
 * to WORKER_CONCURRENCY at once) are counted only while they tie with it. Counting every one
 * failed innocent neighbours as poison: chaos seed 40148 lost 2 of 150 that way.
 */
export async function killSuspects(redis: Redis, queue: Queue, held: readonly { jobId: string; token: string }[]): Promise<Set<string>> {
  const read = redis.pipeline();
  for (const job of held) read.hget(queue.toKey(job.jobId), KILLS_FIELD);
  const counts = ((await read.exec()) ?? []).map(([, kills]) => Number(kills ?? 0));
  const ownerOf = (job: { token: string }) => lockOwner(job.token);
  const most = new Map<string, number>();
  held.forEach((job, i) => most.set(ownerOf(job), Math.max(most.get(ownerOf(job)) ?? 0, counts[i]!)));
  return new Set(held.filter((job, i) => counts[i] === most.get(ownerOf(job))).map((job) => job.jobId));
}

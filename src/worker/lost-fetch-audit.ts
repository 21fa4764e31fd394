import { Job, type Worker } from 'bullmq';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';

/** After a reconnect, how long before the first look, and between the two looks. */
const SETTLE_MS = 1000;

/**
 * A fetch whose reply was lost: Redis ran BullMQ's moveToActive, then the connection broke
 * (Redis killed, a half-open path) before the reply came back, and ioredis sent the command
 * again on the new connection, which fetched another job under the same token. The first job
 * stays active, locked by this worker, and nobody runs it: its lock expires after lockDuration
 * and BullMQ's stall check returns it 30 s later still (chaos seed 99609: job-299, stranded
 * 29.7 s, then run by stall detection). So after each reconnect of a BullMQ worker's command
 * connection, the jobs locked by that worker that this process does not run — at two looks a
 * second apart, so a job fetched in flight is running by the second — go back by token.
 */
export function auditLostFetches(worker: Worker, connection: RedisClient, isRunning: (jobId: string) => boolean, log: Logger): void {
  let readies = 0;
  let auditing = false;
  connection.on('ready', () => {
    readies += 1;
    if (readies === 1 || auditing) return; // the first connect fetched nothing yet
    auditing = true;
    void (async () => {
      try {
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        const first = await unrun(worker, connection, isRunning);
        if (first.size === 0) return;
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        const second = await unrun(worker, connection, isRunning);
        const lost = [...second].filter(([jobId, token]) => first.get(jobId) === token);
        for (const [jobId, token] of lost) {
          try {
            await (await Job.fromId(worker, jobId))?.moveToWait(token);
            log.warn({ queue: worker.name, jobId }, 'returned a job fetched under this worker\'s lock whose fetch reply was lost at a reconnect (nobody ran it)');
          } catch {
            // moved on meanwhile (its lock changed hands): not ours to return
          }
        }
      } catch (error) {
        log.debug({ err: error }, 'could not look for fetches lost at a reconnect');
      } finally {
        auditing = false;
      }
    })();
  });
}

/** jobId → token of the active jobs locked by `worker` that this process does not run. */
async function unrun(worker: Worker, connection: RedisClient, isRunning: (jobId: string) => boolean): Promise<Map<string, string>> {
  const active = await connection.lrange(worker.keys.active!, 0, -1);
  if (active.length === 0) return new Map();
  const locks = connection.pipeline();
  for (const jobId of active) locks.get(`${worker.toKey(jobId)}:lock`);
  const tokens = ((await locks.exec()) ?? []).map(([, token]) => token as string | null);
  const found = new Map<string, string>();
  active.forEach((jobId, i) => {
    const token = tokens[i];
    if (token?.startsWith(`${worker.id}:`) && !isRunning(jobId)) found.set(jobId, token);
  });
  return found;
}

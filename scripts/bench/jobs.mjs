// Queue helpers shared by the suites: enqueue in bulk, count completions.
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { waitFor } from './wait.mjs';

export function newQueue(redis, prefix = 'bench') {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(name, { connection: redis.client });
  queue.on('error', () => {});
  return queue;
}

/** Adds `count` jobs in batches of 1,000 (addBulk is one MULTI per batch). */
export async function enqueue(queue, count, data = {}, idPrefix = undefined) {
  for (let from = 0; from < count; from += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - from) }, (_, i) => ({
      name: 'bench', data, opts: idPrefix ? { jobId: `${idPrefix}-${from + i}` } : {},
    }));
    await queue.addBulk(batch);
  }
}

/** Resolves when the queue has `count` completed jobs; returns the time that took in ms. */
export async function untilCompleted(queue, count, timeoutMs = 300_000) {
  const t0 = performance.now();
  await waitFor(async () => (await queue.getCompletedCount()) >= count, `${count} completed jobs`, timeoutMs, 20);
  return performance.now() - t0;
}

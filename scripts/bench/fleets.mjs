// The three ways to run workers that the bench compares, behind one shape:
// { name, ready() → ms from spawn to every worker consuming, pids() → {manager, workers}, stop() }.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { PROCESSORS, startBouy } from './bouy.mjs';
import { startPlain, startPm2 } from './pm2.mjs';
import { childPids } from './processes.mjs';
import { waitFor } from './wait.mjs';

export const processorPath = (kind) => path.join(PROCESSORS, `${kind}.mjs`);

/** bouy: one supervisor, `count` worker processes of `concurrency` each. */
export async function bouyFleet({ redis, queue, processor, count, concurrency, env = {}, entrypoint }) {
  const proc = await startBouy({
    REDIS_URL: redis.url, QUEUE_NAME: queue, PROCESSOR: processorPath(processor),
    WORKER_COUNT: String(count), WORKER_CONCURRENCY: String(concurrency),
    BOUY_HOSTNAME: `bench-${randomUUID().slice(0, 8)}`, BOUY_PREFIX: `bouy-${randomUUID().slice(0, 8)}`,
    ...env,
  }, { entrypoint });
  return {
    name: `bouy ${count}×${concurrency}`,
    proc,
    ready: (timeoutMs) => proc.ready(timeoutMs),
    pids: () => ({ manager: proc.pid, workers: childPids(proc.pid) }),
    stop: () => proc.stop(),
  };
}

/** Ready for PM2 and the plain worker: every instance has pushed its pid to `readyKey`. */
function readyByList(redis, readyKey, instances, startedAt) {
  return async (timeoutMs = 60_000) => {
    await waitFor(async () => (await redis.client.llen(readyKey)) >= instances, `${instances} plain worker(s) ready`, timeoutMs, 10);
    return performance.now() - startedAt;
  };
}

/** One plain BullMQ worker process with all the concurrency. */
export function plainFleet({ redis, queue, processor, concurrency, env = {} }) {
  const readyKey = `bench:ready:${randomUUID()}`;
  const proc = startPlain({
    REDIS_URL: redis.url, QUEUE_NAME: queue, PROCESSOR: processorPath(processor),
    WORKER_CONCURRENCY: String(concurrency), BENCH_READY_KEY: readyKey, ...env,
  });
  return {
    name: `plain BullMQ 1×${concurrency}`,
    proc,
    ready: readyByList(redis, readyKey, 1, proc.startedAt),
    pids: () => ({ manager: undefined, workers: [proc.pid] }),
    stop: () => proc.stop(),
  };
}

/** PM2 (pm2-runtime) running `count` instances of the plain worker. */
export function pm2Fleet({ redis, queue, processor, count, concurrency, env = {} }) {
  const readyKey = `bench:ready:${randomUUID()}`;
  const proc = startPm2(count, {
    REDIS_URL: redis.url, QUEUE_NAME: queue, PROCESSOR: processorPath(processor),
    WORKER_CONCURRENCY: String(concurrency), BENCH_READY_KEY: readyKey, ...env,
  });
  return {
    name: `PM2 ${count}×${concurrency}`,
    proc,
    ready: readyByList(redis, readyKey, count, proc.startedAt),
    pids: () => ({ manager: proc.pid, workers: childPids(proc.pid) }),
    stop: () => proc.stop(),
  };
}

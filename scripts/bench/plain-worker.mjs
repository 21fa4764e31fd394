// The peer bouy is measured against: one plain BullMQ Worker in one process, as a team would
// write it without bouy (and as PM2 runs it). It reports "ready" by pushing its pid to a Redis
// list, since PM2 has no readiness endpoint to poll.
import { pathToFileURL } from 'node:url';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const url = process.env.REDIS_URL;
const processor = (await import(pathToFileURL(process.env.PROCESSOR).href)).default;
// BENCH_REDIS_OPTIONS (JSON, e.g. bouy's `{"socketTimeout":15000}`): to price one of bouy's connection options on plain BullMQ.
const connection = new Redis(url, { maxRetriesPerRequest: null, ...JSON.parse(process.env.BENCH_REDIS_OPTIONS ?? '{}') });
const worker = new Worker(process.env.QUEUE_NAME, processor, {
  connection,
  concurrency: Number(process.env.WORKER_CONCURRENCY ?? 1),
});
worker.on('error', () => {});
await worker.waitUntilReady();
if (process.env.BENCH_READY_KEY) {
  const signal = new Redis(url);
  await signal.rpush(process.env.BENCH_READY_KEY, String(process.pid));
  signal.disconnect();
}

// Graceful like a careful team would be: finish active jobs, then exit.
const stop = async () => {
  await worker.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

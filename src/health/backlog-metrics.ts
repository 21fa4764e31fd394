import type { Queue } from 'bullmq';
import { Gauge, type Registry as PromRegistry } from 'prom-client';
import { readFleetBacklog } from './queue-backlog.js';
import { sharedRead } from './shared-read.js';

const SCRAPE_REDIS_MS = 1000;

/**
 * The numbers `GET /backlog` answers, as Prometheus gauges (for KEDA's prometheus trigger or an
 * HPA on an external metric): `bouy_queue_backlog{queue}` (ready + active jobs, delayed ones
 * only when due within the window) and `bouy_queue_desired_slots{queue}` (worker slots that can
 * be busy, capped by the queue's global concurrency and rate limit). Queue-wide, so every
 * process serving them reports the same value: aggregate with max by (queue), not sum. One
 * Redis read serves both gauges of a scrape; while Redis is away the series are left out.
 */
export function registerBacklogGauges(registry: PromRegistry, queues: readonly Queue[], windowSeconds: number): void {
  const read = sharedRead(() => readFleetBacklog(queues, windowSeconds * 1000, SCRAPE_REDIS_MS));
  const gauge = (name: string, help: string, part: 'backlog' | 'slots') => new Gauge({
    name, help, labelNames: ['queue'], registers: [registry],
    async collect() {
      this.reset();
      const result = await read();
      if ('missing' in result) return;
      for (const [queue, backlog] of Object.entries(result.backlog.queues)) this.set({ queue }, backlog[part]);
    },
  });
  gauge('bouy_queue_backlog', `Jobs that want a worker: waiting + prioritized + active + delayed jobs due within ${windowSeconds} s (BACKLOG_WINDOW_SECONDS); 0 ready while paused`, 'backlog');
  gauge('bouy_queue_desired_slots', 'Worker slots the backlog can keep busy: bouy_queue_backlog capped by QUEUE_GLOBAL_CONCURRENCY and the starts QUEUE_RATE_LIMIT allows within the window', 'slots');
}

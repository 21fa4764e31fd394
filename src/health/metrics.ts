import type { RedisClient as Redis } from '../redis.js';
import { Counter, Gauge, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/config.js';
import { within } from '../timeout.js';
import type { Registry } from '../registry/registry.js';
import type { WorkerPool } from '../supervisor/pool.js';
import { MergedHistogram } from './merged-histogram.js';
import { residentBytes } from './process-memory.js';
import { registerBacklogGauges } from './backlog-metrics.js';
import { processorChecks } from './health-status.js';
import { openQueue } from '../queue.js';
import { REDIS_ERROR_KINDS } from '../redis-errors.js';

const SCRAPE_REDIS_MS = 1000;

export interface MetricsSources {
  supervisor: WorkerPool;
  registry: Registry;
  redis: Redis;
  isLeader: () => boolean;
  /** BACKLOG_WINDOW_SECONDS: delayed jobs due within it count in bouy_queue_backlog. */
  backlogWindowSeconds: number;
}

/**
 * Prometheus metrics of one supervisor: job outcomes and durations from its workers' IPC
 * reports, restarts and recycles from its own decisions, and, at scrape time, queue depth and
 * heartbeat age read from Redis (so a scrape shows the truth, not a cache).
 */
export function createMetrics(config: Config, sources: MetricsSources): PromRegistry {
  const registry = new PromRegistry();
  registry.setDefaultLabels({ host: config.hostname });
  // The event-loop lag histogram samples every 10 ms by default: 100 wake-ups a second, which was
  // all of the default collectors' cost (31 ms of CPU per 5 s idle; 4 ms at 100 ms, as with no
  // collectors at all). Lag worth an alert is far coarser than 100 ms.
  collectDefaultMetrics({ register: registry, prefix: 'bouy_supervisor_', eventLoopMonitoringPrecision: 100 });
  // prom-client names three gauges `…_total`, a suffix Prometheus reserves for counters
  // (`promtool check metrics` rejects them); their per-type siblings carry the same numbers.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
    registry.removeSingleMetric(`bouy_supervisor_nodejs_${name}`);
  }
  const { supervisor } = sources;

  const jobs = new Counter({ name: 'bouy_jobs_total', help: 'Jobs finished, by queue, job name and outcome', labelNames: ['queue', 'name', 'outcome'], registers: [registry] });
  const duration = new MergedHistogram('bouy_job_duration_seconds', 'Job run time', ['queue', 'name'], registry);
  new Gauge({
    name: 'bouy_jobs_active', help: 'Jobs running now, by queue', labelNames: ['queue'], registers: [registry],
    collect() {
      for (const queue of config.queues) this.set({ queue }, supervisor.activeJobs(queue));
    },
  });
  const restarts = new Counter({ name: 'bouy_worker_restarts_total', help: 'Worker processes restarted after dying', labelNames: ['worker'], registers: [registry] });
  const recycles = new Counter({ name: 'bouy_worker_recycles_total', help: 'Workers recycled, by reason', labelNames: ['reason'], registers: [registry] });
  new Counter({
    name: 'bouy_jobs_poisoned_total', help: 'Jobs failed because their workers died running them more than MAX_JOB_KILLS times', labelNames: ['queue'], registers: [registry],
    collect() {
      this.reset();
      for (const queue of new Set([...config.queues, ...sources.registry.poisoned.keys()])) this.inc({ queue }, sources.registry.poisoned.get(queue) ?? 0);
    },
  });

  // Workers report tallies (per queue and name, with their duration buckets) on an interval:
  // the metrics move once per report, not once per job. Names past JOB_NAME_LIMIT arrive as
  // `other`, the same bucket /health's jobs_by_name uses.
  supervisor.on('jobs-reported', (_worker, tallies) => {
    for (const { queue, name, completed, failed, buckets, totalMs } of tallies) {
      if (completed > 0) jobs.inc({ queue, name, outcome: 'completed' }, completed);
      if (failed > 0) jobs.inc({ queue, name, outcome: 'failed' }, failed);
      if (completed + failed > 0) duration.add({ queue, name }, buckets, totalMs / 1000);
    }
  });
  const redisErrors = new Counter({
    name: 'bouy_redis_errors_total', help: 'Redis commands of the workers that failed, by kind (oom, readonly, misconf: Redis refuses writes)', labelNames: ['kind'], registers: [registry],
  });
  for (const kind of REDIS_ERROR_KINDS) redisErrors.inc({ kind }, 0); // every kind present from the start, for rate() and alerts
  supervisor.on('redis-errors', (counts) => {
    for (const [kind, count] of Object.entries(counts)) redisErrors.inc({ kind }, count);
  });
  supervisor.on('worker-exited', (worker, kind, detail) => {
    if (kind === 'crash') restarts.inc({ worker });
    if (kind === 'recycle') recycles.inc({ reason: detail });
  });

  new Gauge({
    name: 'bouy_workers', help: 'Worker slots by state', labelNames: ['state'], registers: [registry],
    collect() {
      this.reset();
      for (const slot of supervisor.view()) this.inc({ state: slot.state });
    },
  });
  new Gauge({
    name: 'bouy_worker_resident_memory_bytes', help: 'Resident memory of each worker process (from /proc)', labelNames: ['worker'], registers: [registry],
    async collect() {
      this.reset();
      for (const slot of supervisor.view()) {
        const bytes = slot.pid === null ? undefined : await residentBytes(slot.pid);
        if (bytes !== undefined) this.set({ worker: slot.name }, bytes);
      }
    },
  });
  // The recycle limit beside the usage, so an alert can compare them (0: no limit).
  new Gauge({ name: 'bouy_worker_memory_limit_bytes', help: 'MAX_MEMORY_MB in bytes; 0 when workers are not recycled for memory', registers: [registry] })
    .set(config.maxMemoryMb * 1048576);
  new Gauge({
    name: 'bouy_processor_check_ok', help: '1 when the last processor check() of the queue passed on every ready worker, 0 when one failed', labelNames: ['queue'], registers: [registry],
    collect() {
      this.reset();
      for (const [queue, check] of Object.entries(processorChecks(supervisor.view().filter((s) => s.state === 'ready')))) this.set({ queue }, check.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'bouy_leader', help: '1 when this supervisor holds the fleet leadership', registers: [registry],
    collect() {
      this.set(sources.isLeader() ? 1 : 0);
    },
  });
  const queues = config.queues.map((name) => openQueue(name, sources.redis, config.bullPrefix));
  new Gauge({
    name: 'bouy_queue_jobs', help: 'Jobs in the queue by state (waiting, delayed, failed, active)', labelNames: ['queue', 'state'], registers: [registry],
    async collect() {
      this.reset();
      for (const queue of queues) {
        // Bounded: a scrape while Redis is away must answer, without these series.
        const counts = await within(queue.getJobCounts('waiting', 'delayed', 'failed', 'active', 'prioritized'), SCRAPE_REDIS_MS, {});
        for (const [state, count] of Object.entries(counts)) this.set({ queue: queue.name, state }, count);
      }
    },
  });
  // What autoscalers read (KEDA's prometheus trigger, deploy/kubernetes); the same numbers as /backlog.
  registerBacklogGauges(registry, queues, sources.backlogWindowSeconds);
  new Gauge({
    name: 'bouy_worker_heartbeat_age_seconds', help: 'Seconds since each of this host\'s workers last beat in the registry', labelNames: ['worker'], registers: [registry],
    async collect() {
      this.reset();
      const now = Date.now();
      for (const worker of await within(sources.registry.list(), SCRAPE_REDIS_MS, [])) {
        if (worker.host === config.hostname) this.set({ worker: worker.name }, (now - worker.heartbeatAt) / 1000);
      }
    },
  });
  return registry;
}

import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry as PromRegistry } from 'prom-client';
import type { Config } from '../config/config.js';
import type { SchedulerSettings } from '../config/scheduler.js';
import { BouyError } from '../errors.js';
import { AJV_OPTIONS, formatValidation } from '../http/strict-schema.js';
import type { Logger } from '../log.js';
import type { SlotView } from '../supervisor/slot.js';
import { healthPlugin } from './health-plugin.js';
import { assessHealth, processorChecks } from './health-status.js';
import { describeRateLimit } from '../config/jobs.js';

/** What the health server needs to know, injected so it stays independent of the supervisor. */
export interface HealthSource {
  slots(): SlotView[];
  redisReachable(): Promise<boolean>;
  /** Why Redis refuses writes now (it is full), if it does. */
  redisRefusal?(): Promise<string | undefined>;
  /** Extra top-level fields (leader, fleet, …) from other parts of the supervisor. */
  extra?(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Prometheus registry served at /metrics. */
  metrics?: PromRegistry;
  /** How long Redis has not answered this process (ms): /livez fails past LIVEZ_REDIS_SECONDS. */
  redisUnansweredMs?(): number;
}

/** The worker supervisor's health server: the health plugin over its slots, and /metrics. */
export async function buildHealthApp(config: Config, source: HealthSource): Promise<FastifyInstance> {
  // Strict like the api: the admin routes' bodies are neither coerced nor trimmed of unknown fields.
  const app = Fastify({ logger: false, ajv: AJV_OPTIONS, schemaErrorFormatter: formatValidation });
  const assess = async () => {
    const slots = source.slots();
    const redis = await source.redisReachable();
    const refusal = redis ? await source.redisRefusal?.() : undefined;
    return { slots, redis, ...assessHealth(redis, slots, config.queues, refusal) };
  };
  const workers = (slots: SlotView[]) => ({ worker_count: slots.length, workers_ready: slots.filter((s) => s.state === 'ready').length });
  await app.register(healthPlugin, {
    identity: { service: 'worker', hostname: config.hostname },
    // Alive unless Redis has not answered this process for LIVEZ_REDIS_SECONDS: a half-open
    // connection its reconnects did not mend, which only a restart may.
    live() {
      const silentMs = source.redisUnansweredMs?.() ?? 0;
      if (silentMs <= config.livezRedisSeconds * 1000) return { ready: true };
      return { ready: false, body: { reason: `Redis has not answered for ${Math.round(silentMs / 1000)} s (LIVEZ_REDIS_SECONDS=${config.livezRedisSeconds})` } };
    },
    // Not ready also while every worker of a queue fails in a loop (see assessHealth).
    async ready() {
      const { slots, redis, ready, reasons } = await assess();
      return { ready, body: { redis, ...workers(slots), ...(ready ? {} : { reasons }) } };
    },
    async status() {
      const { slots, redis, status, reasons } = await assess();
      return {
        status,
        redis,
        body: {
          reasons, ...workers(slots), queue: config.queues.join(','), queues: config.queues,
          processor: processorChecks(slots.filter((s) => s.state === 'ready')), limits: limitsOf(config),
          ...(await source.extra?.()), workers: slots,
        },
      };
    },
  });
  const metrics = source.metrics;
  if (metrics) {
    app.get('/metrics', async (_request, reply) => reply.header('Content-Type', metrics.contentType).send(await metrics.metrics()));
  }
  return app;
}

/** The job-side settings every queue of this supervisor runs under (README "Timeouts and limits"). */
export function limitsOf(config: Config): Record<string, unknown> {
  return {
    job_timeout_s: config.jobTimeoutSeconds || null,
    job_timeout_grace_s: config.jobTimeoutGraceSeconds,
    job_lock_s: config.jobLockSeconds,
    global_concurrency: config.globalConcurrency ?? null,
    rate_limit: describeRateLimit(config.rateLimit),
    job_attempts: config.jobDefaults.attempts,
    job_backoff: config.jobDefaults.backoff ?? null,
    processor_check: config.processorCheck,
    processor_check_s: config.processorCheckSeconds || null,
  };
}

/**
 * Listens on HEALTH_PORT, or the next free port of HEALTH_PORT_RANGE when it is taken (several
 * supervisors on one host). Returns the port it got; none free is a configuration error.
 */
export async function listenInRange(app: FastifyInstance, config: SchedulerSettings, log: Logger): Promise<number> {
  const [, high] = config.healthPortRange;
  for (let port = config.healthPort; port <= high; port += 1) {
    try {
      await app.listen({ host: config.healthHost, port });
      if (port !== config.healthPort) log.warn({ port, wanted: config.healthPort }, `health port ${config.healthPort} is taken; listening on ${port}`);
      else log.info({ port, bind: config.healthHost }, `health server listening on ${config.healthHost}:${port}`);
      return port;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  throw new BouyError('BOUY_ERR_NO_FREE_PORT', `no free health port from ${config.healthPort} to ${high} (HEALTH_PORT_RANGE=${config.healthPortRange.join('-')})`, {
    hint: 'free a port, widen HEALTH_PORT_RANGE, or set HEALTH_SERVER=false',
  });
}

import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { pingWithin, type RedisClient as Redis } from '../redis.js';
import type { HealthStatus } from './health-status.js';
import { writeProbe } from './write-probe.js';

/** Seconds a client (or an orchestrator) should wait before asking again after a 503. */
export const RETRY_AFTER_SECONDS = 5;

export interface Readiness {
  ready: boolean;
  /** Fields beside `ready` in /readyz (why not, which worker…). */
  body?: Record<string, unknown>;
}

export interface StatusReport {
  status: HealthStatus;
  /** Whether Redis answered: `redis` in /health, `ok` or `unreachable`. */
  redis: boolean;
  /** The service's own fields in /health, after `status`, the identity and `redis`. */
  body?: Record<string, unknown>;
}

export interface HealthPluginOptions {
  /** /readyz: may this process get traffic / count as up? Quick: it is polled. */
  ready(): Promise<Readiness>;
  /** /health: the whole picture for people and `./bouy health`; defaults to readiness. */
  status?: () => Promise<StatusReport>;
  /**
   * /livez: is the process alive, in a way only a restart mends? Synchronous and local (no
   * Redis call: a probe must answer when Redis does not). Default: it answers, so it lives.
   */
  live?(): Readiness;
  /** Which service on which host answers, at the top of /health. */
  identity?: { service: string; hostname?: string };
}

function unavailable(reply: FastifyReply): FastifyReply {
  return reply.code(503).header('Retry-After', String(RETRY_AFTER_SECONDS));
}

/**
 * The one health surface of every bouy service (fastify/under-pressure's shape: checks
 * injected as async functions). /livez: the process answers and is not stuck (an orchestrator
 * restarts it when not: 503). /readyz: 200 or 503 with Retry-After. /health: `status` healthy or degraded is 200,
 * unhealthy 503 with Retry-After — the only case to act on.
 */
export const healthPlugin = fp<HealthPluginOptions>(async (app: FastifyInstance, options) => {
  const startedAt = Date.now();
  const uptime = () => Math.round((Date.now() - startedAt) / 1000);
  const status = options.status ?? (async (): Promise<StatusReport> => {
    const { ready, body: { redis, ...body } = {} } = await options.ready();
    return { status: ready ? 'healthy' : 'unhealthy', redis: redis === true, body };
  });

  app.get('/livez', async (_request, reply) => {
    const { ready: live, body } = options.live?.() ?? { ready: true };
    if (!live) return unavailable(reply).send({ status: 'dead', ...body, uptime_s: uptime() });
    return { status: 'alive', ...body, uptime_s: uptime() };
  });
  app.get('/readyz', async (_request, reply) => {
    const { ready, body } = await options.ready();
    return (ready ? reply.code(200) : unavailable(reply)).send({ ready, ...body });
  });
  app.get('/health', async (_request, reply) => {
    // The one place a /health body is assembled, for every service.
    const report = await status();
    const body = { status: report.status, ...options.identity, redis: report.redis ? 'ok' : 'unreachable', ...report.body, uptime_s: uptime() };
    return (report.status === 'unhealthy' ? unavailable(reply) : reply.code(200)).send(body);
  });
}, { name: 'bouy-health', fastify: '5.x' });

/**
 * Readiness of a service whose only dependency is Redis (api, dashboard, scheduler): Redis
 * answers and, for a service that writes (`writeProbeKey` given), takes writes — a full Redis
 * still answers PING (see writeProbe).
 */
export function redisReadiness(redis: Redis, writeProbeKey?: string): () => Promise<Readiness> {
  return async () => {
    const ok = await pingWithin(redis, 1000);
    const refusal = ok && writeProbeKey !== undefined ? await writeProbe(redis, writeProbeKey) : undefined;
    return { ready: ok && !refusal, body: { redis: ok, ...(refusal ? { reasons: [refusal] } : {}) } };
  };
}

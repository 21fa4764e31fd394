import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { healthPlugin, RETRY_AFTER_SECONDS } from '../../src/health/health-plugin.js';

// /health is assembled in one place (the health plugin) for every service: status, which
// service on which host, whether Redis answers, then the service's own fields.
async function healthOf(options: Parameters<typeof healthPlugin>[1]): Promise<{ status: number; retryAfter: unknown; body: Record<string, unknown> }> {
  const app = Fastify({ logger: false });
  await app.register(healthPlugin, options);
  const answer = await app.inject({ method: 'GET', url: '/health' });
  await app.close();
  return { status: answer.statusCode, retryAfter: answer.headers['retry-after'], body: answer.json() };
}

describe('the /health body', () => {
  it('a Redis-only service (api, dashboard): from its readiness, Redis in words', async () => {
    const up = await healthOf({ ready: async () => ({ ready: true, body: { redis: true } }), identity: { service: 'api', hostname: 'box-1' } });
    expect(up).toEqual({ status: 200, retryAfter: undefined, body: { status: 'healthy', service: 'api', hostname: 'box-1', redis: 'ok', uptime_s: expect.any(Number) } });
    const down = await healthOf({ ready: async () => ({ ready: false, body: { redis: false, reasons: ['Redis refuses writes'] } }), identity: { service: 'dashboard' } });
    expect(down).toEqual({ status: 503, retryAfter: String(RETRY_AFTER_SECONDS), body: { status: 'unhealthy', service: 'dashboard', redis: 'unreachable', reasons: ['Redis refuses writes'], uptime_s: expect.any(Number) } });
  });

  it('a service with its own report: degraded is 200, its fields after the common ones', async () => {
    const report = await healthOf({
      ready: async () => ({ ready: true }),
      identity: { service: 'worker', hostname: 'box-2' },
      status: async () => ({ status: 'degraded', redis: true, body: { reasons: ['slow'], worker_count: 2 } }),
    });
    expect(report.status).toBe(200);
    expect(Object.keys(report.body)).toEqual(['status', 'service', 'hostname', 'redis', 'reasons', 'worker_count', 'uptime_s']);
    expect(report.body).toMatchObject({ status: 'degraded', redis: 'ok', reasons: ['slow'], worker_count: 2 });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, withFleet } from './helpers/supervisor.js';
import { pollUntil, waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

/** How many WRONGTYPE replies this Redis has sent: counts the workers' failures whatever they log. */
async function wrongTypeErrors(): Promise<number> {
  const info = await redis.client.info('errorstats');
  return Number(/errorstat_WRONGTYPE:count=(\d+)/.exec(info)?.[1] ?? 0);
}

describe('a worker failing in a loop', () => {
  it('turns /readyz 503 and /health unhealthy with the reason, logs a few lines with counts, and recovers', async () => {
    await withFleet(redis, { WORKER_COUNT: '2', LOG_LEVEL: 'info' }, async (fleet) => {
      await allReady(fleet);
      expect((await fleet.health('/readyz')).status).toBe(200);
      // A hash where BullMQ keeps its sorted-set marker: every fetch of every worker fails.
      const marker = `bull:${fleet.queueName}:marker`;
      const before = await wrongTypeErrors();
      const linesBefore = fleet.run.lines.length;
      await redis.client.del(marker);
      await redis.client.hset(marker, 'poison', '1');

      const ready = await pollUntil(() => fleet.health('/readyz'), (r) => r.status === 503, 8_000);
      expect(ready.status).toBe(503);
      expect(ready.body.ready).toBe(false);
      expect(ready.body.reasons.join('\n')).toContain(`queue ${fleet.queueName}`);
      expect(ready.body.reasons.join('\n')).toContain('WRONGTYPE');
      const health = await fleet.health();
      expect(health.status).toBe(503);
      expect(health.body.status).toBe('unhealthy');
      expect(health.body.reasons.join('\n')).toContain('WRONGTYPE');
      expect(health.body.workers[0].errors[0]).toMatchObject({ queue: fleet.queueName });

      // Let the loop spin well past the rate limit: 40 failed fetches seen by Redis itself.
      await waitFor(async () => (await wrongTypeErrors()) - before >= 40, '40 failed fetches', 30_000);
      const errorLines = fleet.run.lines.slice(linesBefore).filter((l) => l.msg === 'worker error');
      const failures = (await wrongTypeErrors()) - before;
      // At most one line per worker every 5 s (+ the first), however many failures.
      expect(errorLines.length).toBeLessThanOrEqual(6);
      expect(errorLines.length).toBeGreaterThanOrEqual(1);
      expect(failures).toBeGreaterThanOrEqual(40);
      const counted = await fleet.health();
      const reported = counted.body.workers.reduce((sum: number, w: { errors: { count: number }[] }) => sum + (w.errors[0]?.count ?? 0), 0);
      expect(reported).toBeGreaterThan(errorLines.length);

      await redis.client.del(marker);
      const recovered = await pollUntil(() => fleet.health('/readyz'), (r) => r.status === 200, 25_000);
      expect(recovered.status).toBe(200);
      // Each worker recovers on its own quiet timer: /readyz turns as soon as one consumes again.
      const healthy = await pollUntil(() => fleet.health(), (r) => r.body.status === 'healthy', 15_000);
      expect(healthy.body).toMatchObject({ status: 'healthy' });
      expect(healthy.body.workers.every((w: { errors: unknown[] }) => w.errors.length === 0)).toBe(true);
      const recoveryLine = fleet.run.lines.slice(linesBefore).find((l) => l.msg === 'worker recovered');
      expect(recoveryLine?.errors).toBeGreaterThan(1);
    });
  });
});

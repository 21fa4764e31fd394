import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { apiForThisFile } from './helpers/api.js';
import { allReady, withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

const queue = `full-${randomUUID().slice(0, 8)}`;
const shared = apiForThisFile(() => ({ QUEUE_NAME: queue }));
const REASON = 'redis refuses writes: out of memory';

/** Values until Redis refuses one: `size` bytes, then a quarter of that, down to 16 bytes. */
async function fillFrom(size: number): Promise<void> {
  for (; size >= 16; size /= 4) {
    const value = 'x'.repeat(size);
    for (;;) {
      try {
        await shared.redis.client.set(`filler:${(filled += 1)}`, value);
      } catch (error) {
        if (!String(error).includes('OOM')) throw error;
        break;
      }
    }
  }
}

let filled = 0;
let topUp: NodeJS.Timeout | undefined;

/**
 * maxmemory a little above what Redis holds now, then filled until even a few bytes are refused
 * (noeviction), and kept full: Redis frees a little as it shrinks idle clients' buffers, which
 * another writer takes at once in a Redis that is really full.
 */
async function fillRedis(): Promise<void> {
  const used = Number(/used_memory:(\d+)/.exec(await shared.redis.client.info('memory'))![1]);
  await shared.redis.client.config('SET', 'maxmemory', String(used + 2 * 1024 * 1024));
  await fillFrom(64 * 1024);
  let busy = false;
  topUp = setInterval(() => {
    if (busy) return;
    busy = true;
    void fillFrom(1024).catch(() => clearInterval(topUp)).finally(() => { busy = false; });
  }, 20);
}

async function emptyRedis(): Promise<void> {
  clearInterval(topUp);
  const client = shared.redis.client;
  await client.config('SET', 'maxmemory', '0');
  const keys = await client.keys('filler:*');
  if (keys.length > 0) await client.del(...keys);
}

afterEach(emptyRedis);

describe('a full Redis (maxmemory reached under noeviction)', () => {
  it('the api: POST /jobs answers 503 with Retry-After and the reason, /readyz says so; both recover once Redis has room', async () => {
    expect((await shared.api.call('GET', '/readyz')).status).toBe(200);
    await fillRedis();
    const post = await shared.api.call('POST', `/jobs/${queue}`, { body: { data: { n: 1 } } });
    expect(post.status).toBe(503);
    expect(post.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(post.json).toMatchObject({ error: 'redis refuses writes' });
    expect(post.json.message).toContain(REASON);
    const ready = await shared.api.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json).toMatchObject({ ready: false, redis: true, reasons: [REASON] });
    expect(shared.api.run.lines.filter((l) => (l.level as number) >= 50)).toEqual([]); // not a bug: nothing logged as one

    await emptyRedis();
    expect((await shared.api.call('GET', '/readyz')).status).toBe(200);
    expect((await shared.api.call('POST', `/jobs/${queue}`, { body: { data: { n: 2 } } })).status).toBe(202);
  });

  it('the workers: /health degraded and /readyz 503 with the reason, bouy_redis_errors_total{kind="oom"} counts the refused heartbeats', async () => {
    await withFleet(shared.redis, { WORKER_COUNT: '1', HEARTBEAT_SECONDS: '0.5' }, async (fleet) => {
      await allReady(fleet);
      expect((await fleet.health()).body.status).toBe('healthy');
      await fillRedis();
      const health = await waitFor(async () => {
        const answer = await fleet.health();
        return answer.body.reasons?.includes(REASON) && answer;
      }, 'the reason in /health');
      expect(health.status).toBe(200);
      expect(health.body.status).toBe('degraded');
      const ready = await fleet.health('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.reasons).toContain(REASON);
      // Read by pattern: parsePrometheus refuses prom-client's `Nan` of an event-loop gauge scraped twice within 100 ms.
      const oom = await waitFor(async () => {
        const text = await (await fetch(`http://127.0.0.1:${fleet.healthPort}/metrics`)).text();
        const sample = /^bouy_redis_errors_total\{[^}]*kind="oom"[^}]*\} (\d+)$/m.exec(text);
        return sample !== null && Number(sample[1]) > 0 && Number(sample[1]);
      }, 'refused heartbeats counted in /metrics');
      expect(oom).toBeGreaterThanOrEqual(1);

      await emptyRedis();
      await waitFor(async () => (await fleet.health()).body.status === 'healthy', 'healthy once Redis has room');
    });
  });
});

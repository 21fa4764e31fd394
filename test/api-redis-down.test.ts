import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiForThisFile } from './helpers/api.js';
import { waitFor } from './helpers/wait.js';
import { RETRY_AFTER_SECONDS } from '../src/api/answers.js';

const queue = `down-${randomUUID().slice(0, 8)}`;
const shared = apiForThisFile(() => ({ QUEUE_NAME: queue }));

async function redisPid(): Promise<number> {
  return Number(/process_id:(\d+)/.exec(await shared.redis.client.info('server'))![1]);
}

/** SIGKILLs the test's redis-server (stopped or not) and waits until it is gone. */
async function killRedis(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitFor(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 'redis-server to die', 5_000);
}

/** Back on the same port with the same AOF, and the api's connection ready again. */
async function restartAndSettle(): Promise<void> {
  await shared.redis.start();
  await waitFor(async () => (await shared.api.call('GET', '/readyz', { timeoutMs: 2_000 })).status === 200, 'the api to reach Redis again', 20_000);
  // one write through the api's own connection: anything it still held would have gone first
  await waitFor(async () => (await shared.api.call('POST', `/jobs/${queue}`, { body: { data: { after: true } } })).status === 202, 'a job added after the restart');
}

describe('api while Redis is away (issue 8, item 10)', () => {
  it('answers 503 with Retry-After within 2.5 s while Redis is down, and writes nothing once it is back', async () => {
    await killRedis(await redisPid());
    const post = await shared.api.call('POST', `/jobs/${queue}`, { body: { data: {}, opts: { jobId: 'while-down' } }, timeoutMs: 5_000 });
    const get = await shared.api.call('GET', `/jobs/${queue}/while-down`, { timeoutMs: 5_000 });
    console.log(`Redis down: POST answered ${post.status} in ${post.ms} ms, GET ${get.status} in ${get.ms} ms`);
    await restartAndSettle();
    expect(post.status).toBe(503);
    expect(post.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
    expect(post.ms).toBeLessThan(2_500);
    expect(get.status).toBe(503);
    expect(get.ms).toBeLessThan(2_500);
    expect(await shared.redis.client.exists(`bull:${queue}:while-down`)).toBe(0);
  });

  it('answers 503 within 2.5 s while Redis hangs (SIGSTOP), and the request is not replayed after a restart', async () => {
    const pid = await redisPid();
    process.kill(pid, 'SIGSTOP');
    let post;
    try {
      post = await shared.api.call('POST', `/jobs/${queue}`, { body: { data: {}, opts: { jobId: 'while-hung' } }, timeoutMs: 5_000 });
    } finally {
      await killRedis(pid);
    }
    console.log(`Redis hung: POST answered ${post.status} in ${post.ms} ms`);
    await restartAndSettle();
    expect(post.status).toBe(503);
    expect(post.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
    expect(post.ms).toBeLessThan(2_500);
    expect(post.json.message).toContain('unknown');
    expect(await shared.redis.client.exists(`bull:${queue}:while-hung`)).toBe(0);
  });
});

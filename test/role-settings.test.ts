import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from './helpers/api.js';
import { freePort } from './helpers/free-port.js';
import { runEntrypoint, stopProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

// Each role reads the shared settings and its own: a setting only the workers read does not
// stop the api, and the supervisor still refuses it (exit 64 naming it) before touching Redis.
describe('settings per role', () => {
  let redis: RedisServer;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis?.close(); });

  it('the api starts and answers with a bad worker-only setting (MAX_MEMORY_MB=abc, WORKER_COUNT=0)', async () => {
    const api = await startApi(redis.url, { MAX_MEMORY_MB: 'abc', WORKER_COUNT: '0' });
    try {
      expect((await api.call('GET', '/livez')).status).toBe(200);
      expect((await api.call('POST', '/jobs/llm', { body: { data: { x: 1 } } })).status).toBe(202);
    } finally {
      await stopProcess(api.run);
    }
  });

  it('the scheduler starts and answers /health with a bad worker-only setting', async () => {
    const port = await freePort();
    const run = runEntrypoint(['scheduler'], { REDIS_URL: redis.url, HEALTH_HOST: '127.0.0.1', HEALTH_PORT: String(port), HEALTH_PORT_RANGE: `${port}-${port}`, MAX_MEMORY_MB: 'abc', WORKER_CONCURRENCY: '0' });
    try {
      const health = await waitFor(async () => {
        if (run.proc.exitCode !== null) throw new Error(`scheduler exited ${run.proc.exitCode}: ${run.stderr.join('\n')}`);
        const answer = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        return answer?.ok && ((await answer.json()) as Record<string, unknown>);
      }, 'the scheduler\'s /health');
      expect(health).toMatchObject({ status: 'healthy', service: 'scheduler', redis: 'ok' });
    } finally {
      await stopProcess(run);
    }
  });

  it('the supervisor refuses the same setting with exit 64 naming it and what is allowed', async () => {
    const run = runEntrypoint(['worker'], { REDIS_URL: 'redis://127.0.0.1:1', MAX_MEMORY_MB: 'abc' });
    expect(await run.exited).toEqual({ code: 64, signal: null });
    expect(run.stderr.join('\n')).toContain('MAX_MEMORY_MB="abc" is not valid: a whole number from 0 to 1048576');
  });

  it("the api lists its own and the shared problems in one error (exit 64), not one restart per mistake", async () => {
    const run = runEntrypoint(['api'], { REDIS_URL: 'redis://127.0.0.1:1', API_HOST: '127.0.0.1', API_PORT: '0', LOG_LEVEL: 'loud', JOB_ATTEMPTS: '0' });
    expect(await run.exited).toEqual({ code: 64, signal: null });
    const stderr = run.stderr.join('\n');
    expect(stderr).toContain('API_PORT="0" is not valid: a whole number from 1 to 65535');
    expect(stderr).toContain('JOB_ATTEMPTS="0" is not valid: a whole number from 1 to 100');
    expect(stderr).toContain('LOG_LEVEL="loud" is not valid: one of fatal, error, warn, info, debug, trace, silent');
  });
});

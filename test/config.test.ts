import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { problemsOf } from './helpers/config.js';
import { runEntrypoint } from './helpers/processes.js';

describe('configuration', () => {
  it('has defaults that work', () => {
    const config = loadConfig({}, false);
    expect(config).toMatchObject({
      redis: { kind: 'url', url: 'redis://localhost:6379' }, keyPrefix: 'bouy', bullPrefix: 'bull', workerCount: 1, queues: ['llm'], concurrency: 1, restartDelaySeconds: 10,
      shutdownTimeoutSeconds: 25, healthServer: true, healthPort: 8080, healthPortRange: [8080, 8089], logFormat: 'json',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('an invalid HEALTH_PORT_RANGE is the one error, not a second about HEALTH_PORT judged by the default range', () => {
    const message = problemsOf({ HEALTH_PORT_RANGE: '9000-90000', HEALTH_PORT: '9000' });
    expect(message).toContain('HEALTH_PORT_RANGE="9000-90000" is not valid');
    expect(message).not.toContain('HEALTH_PORT="9000"');
  });

  it('a valid cron pattern is accepted', () => {
    expect(loadConfig({ SCHEDULES: '[{"queue":"llm","id":"n","pattern":"*/5 * * * *"}]' }, false).schedules[0]).toMatchObject({ pattern: '*/5 * * * *' });
  });

  it.each(['0', '21', 'abc', '2.5', '', '-1', '4 workers'])('rejects WORKER_COUNT=%j naming the variable, value and range', (value) => {
    expect(problemsOf({ WORKER_COUNT: value })).toContain(`WORKER_COUNT=${JSON.stringify(value)} is not valid: a whole number from 1 to 20`);
  });

  it.each([
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT="xml" is not valid: one of json, pretty'],
    [{ HEALTH_PORT_RANGE: '8080' }, 'HEALTH_PORT_RANGE="8080" is not valid: LOW-HIGH'],
    [{ HEALTH_PORT_RANGE: '9000-8000' }, 'HEALTH_PORT_RANGE="9000-8000" is not valid'],
    [{ HEALTH_PORT: '9000' }, 'HEALTH_PORT="9000" is not valid: a port inside HEALTH_PORT_RANGE (8080-8089)'],
    [{ SCHEDULES: '[{"queue":"llm","id":"nightly","pattern":"61 * * * *"}]' }, 'SCHEDULES[0].pattern="61 * * * *" is not valid: a cron pattern BullMQ can run'],
    [{ HEALTH_SERVER: 'maybe' }, 'HEALTH_SERVER="maybe" is not valid'],
    [{ REDIS_URL: 'http://user:secret@x' }, 'REDIS_URL="http://user:***@x/" is not valid'],
    [{ QUEUE_NAME: 'a,,b' }, 'QUEUE_NAME="a,,b" is not valid'],
    [{ QUEUE_NAME: 'llm,llm' }, 'QUEUE_NAME="llm,llm" is not valid: each queue once (llm is listed twice)'],
    [{ MAX_JOB_KILLS: '-1' }, 'MAX_JOB_KILLS="-1" is not valid: a whole number from 0 to 1000'],
    [{ RESTART_DELAY_SECONDS: 'soon' }, 'RESTART_DELAY_SECONDS="soon" is not valid: a number from 0 to 3600'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL="loud" is not valid'],
    [{ JOB_LOCK_SECONDS: '0.5' }, 'JOB_LOCK_SECONDS="0.5" is not valid: a number from 1 to 3600'],
  ])('rejects %j', (env, message) => {
    expect(problemsOf(env)).toContain(message);
  });

  it('reports every problem at once', () => {
    const message = problemsOf({ WORKER_COUNT: '0', LOG_FORMAT: 'xml', SHUTDOWN_TIMEOUT_SECONDS: '-3' });
    expect(message).toContain('WORKER_COUNT');
    expect(message).toContain('LOG_FORMAT');
    expect(message).toContain('SHUTDOWN_TIMEOUT_SECONDS');
  });

  it('never shows a Redis password', () => {
    expect(problemsOf({ REDIS_URL: 'ftp://u:hunter2@h', WORKER_COUNT: 'x' })).not.toContain('hunter2');
  });

  it('parses a comma list of queues in priority order', () => {
    expect(loadConfig({ QUEUE_NAME: 'urgent,llm,bulk' }, false).queues).toEqual(['urgent', 'llm', 'bulk']);
  });
});

describe('the entrypoint', () => {
  const unreachable = { REDIS_URL: 'redis://127.0.0.1:1' };

  it.each(['0', '21', 'abc', '2.5', ''])('exits 64 on WORKER_COUNT=%j before starting anything', async (value) => {
    const run = runEntrypoint(['worker'], { ...unreachable, WORKER_COUNT: value });
    expect(await run.exited).toEqual({ code: 64, signal: null });
    expect(run.stderr.join('\n')).toContain(`WORKER_COUNT=${JSON.stringify(value)} is not valid: a whole number from 1 to 20`);
    expect(run.stdout.join('\n')).not.toContain('worker process started');
  });

  it('exits 64 on a queue listed twice (QUEUE_NAME=llm,llm), naming the duplicate', async () => {
    const run = runEntrypoint(['worker'], { ...unreachable, QUEUE_NAME: 'llm,urgent,llm' });
    expect(await run.exited).toEqual({ code: 64, signal: null });
    expect(run.stderr.join('\n')).toContain('QUEUE_NAME="llm,urgent,llm" is not valid: each queue once (llm is listed twice)');
  });

  it('exits 64 with the list of services on an unknown one', async () => {
    const run = runEntrypoint(['nonsense'], {});
    expect((await run.exited).code).toBe(64);
    expect(run.stderr.join('\n')).toMatch(/unknown service "nonsense".*\n.*use one of: worker/);
  });

  it('exits 64 on an unknown SERVICE_TYPE', async () => {
    const run = runEntrypoint([], { SERVICE_TYPE: 'nonsense' });
    expect((await run.exited).code).toBe(64);
    expect(run.stderr.join('\n')).toContain('unknown service "nonsense" (from SERVICE_TYPE)');
  });

  it('runs a command from PATH in place of a service, with its exit status', async () => {
    const run = runEntrypoint(['sh', '-c', 'echo passthrough-ok; exit 7'], {});
    expect((await run.exited).code).toBe(7);
    expect(run.stdout).toContain('passthrough-ok');
  });

  it.each([
    [{ PROCESSOR: '/nonexistent/processor.mjs' }, 'PROCESSOR="/nonexistent/processor.mjs" does not exist'],
    [{ QUEUE_NAME: 'no-such-queue' }, 'no processor for queue "no-such-queue": none of'],
    // A module that exists but cannot be used is found by the workers that import it (the
    // supervisor never runs its top level): clear-errors.test.ts, with a Redis to start them.
  ])('exits 64 when the processor is unusable: %j', async (env, message) => {
    const run = runEntrypoint(['worker'], { ...unreachable, ...env });
    expect((await run.exited).code).toBe(64);
    expect(run.stderr.join('\n')).toContain(message);
  });

  it('exits 69 promptly with guidance when Redis is unreachable, password redacted', async () => {
    const started = Date.now();
    const run = runEntrypoint(['worker'], { REDIS_URL: 'redis://:sekret@127.0.0.1:1/0' });
    expect((await run.exited).code).toBe(69);
    expect(Date.now() - started).toBeLessThan(15_000);
    const err = run.stderr.join('\n');
    expect(err).toContain('Redis is not reachable at redis://:***@127.0.0.1:1/0');
    expect(err).toContain('hint:');
    expect(err).not.toContain('sekret');
  });
});

describe('job settings', () => {
  it('parses QUEUE_RATE_LIMIT, QUEUE_GLOBAL_CONCURRENCY, JOB_* and shows them in the shared settings', async () => {
    const { sharedSettings } = await import('../src/config/config.js');
    const config = loadConfig({ QUEUE_RATE_LIMIT: '3000/1m', QUEUE_GLOBAL_CONCURRENCY: '4', JOB_TIMEOUT_SECONDS: '30', JOB_ATTEMPTS: '3', JOB_BACKOFF: 'exponential:1000' }, false);
    expect(config).toMatchObject({ rateLimit: { max: 3000, durationMs: 60_000 }, globalConcurrency: 4, jobTimeoutSeconds: 30, jobDefaults: { attempts: 3, backoff: { type: 'exponential', delay: 1000 } } });
    expect(sharedSettings(config)).toMatchObject({ rateLimit: '3000/1m', globalConcurrency: 4, jobTimeoutSeconds: 30 });
    expect(loadConfig({ JOB_LOCK_SECONDS: '90' }, false).jobLockSeconds).toBe(90);
    expect(loadConfig({}, false)).toMatchObject({ rateLimit: undefined, globalConcurrency: undefined, jobTimeoutSeconds: 0, jobLockSeconds: 30, processorCheck: 'fail', jobDefaults: { attempts: 1, backoff: undefined } });
  });

  it('reports every bad job setting at once, naming each variable, its value and what is allowed', () => {
    const message = problemsOf({ QUEUE_RATE_LIMIT: '50 per second', QUEUE_GLOBAL_CONCURRENCY: '0', JOB_BACKOFF: 'linear:5', PROCESSOR_CHECK: 'maybe', JOB_TIMEOUT_SECONDS: '-1' });
    expect(message).toContain('QUEUE_RATE_LIMIT="50 per second" is not valid: <max>/<duration>, e.g. 50/1s');
    expect(message).toContain('QUEUE_GLOBAL_CONCURRENCY="0" is not valid: a whole number from 1 to 100000');
    expect(message).toContain('JOB_BACKOFF="linear:5" is not valid: exponential or fixed:<delay ms>');
    expect(message).toContain('PROCESSOR_CHECK="maybe" is not valid: one of fail, warn');
    expect(message).toContain('JOB_TIMEOUT_SECONDS="-1" is not valid');
  });
});

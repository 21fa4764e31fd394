import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadFleetSettings, MISSED_HEARTBEATS, redactUrl, sharedSettings, type Config } from '../../src/config/config.js';
import { BouyError } from '../../src/errors.js';
import { portRange } from '../../src/config/parse.js';

/** The one error loadConfig throws for `env`: a BouyError, exit 64, every problem in its message. */
function problemsOf(env: Record<string, string>, load: (env: Record<string, string>) => unknown = (e) => loadConfig(e, false)): string {
  try {
    load(env);
  } catch (error) {
    if (!(error instanceof BouyError)) throw error;
    expect(error.exitCode).toBe(64);
    return error.message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

const load = (env: Record<string, string>) => loadConfig(env, false);

// Every numeric setting: its variable, where it lands, its default and its inclusive bounds.
const NUMBERS: [string, keyof Config, number, number, number, 'integer' | 'number'][] = [
  ['WORKER_CONCURRENCY', 'concurrency', 1, 1, 1000, 'integer'],
  ['RESTART_DELAY_SECONDS', 'restartDelaySeconds', 10, 0, 3600, 'number'],
  ['MIN_UPTIME_SECONDS', 'minUptimeSeconds', 5, 0, 3600, 'number'],
  ['CRASH_LOOP_THRESHOLD', 'crashLoopThreshold', 3, 1, 100, 'integer'],
  ['CRASH_LOOP_MAX_DELAY_SECONDS', 'crashLoopMaxDelaySeconds', 300, 0, 86400, 'number'],
  ['SHUTDOWN_TIMEOUT_SECONDS', 'shutdownTimeoutSeconds', 25, 0, 86400, 'number'],
  ['HEARTBEAT_SECONDS', 'heartbeatSeconds', 5, 0.1, 3600, 'number'],
  ['WORKER_HANG_TIMEOUT_SECONDS', 'hangTimeoutSeconds', 60, 0, 86400, 'number'],
  ['MAX_JOBS_PER_WORKER', 'maxJobsPerWorker', 0, 0, 1_000_000_000, 'integer'],
  ['MAX_JOBS_JITTER', 'maxJobsJitter', 0, 0, 1_000_000_000, 'integer'],
  ['MAX_MEMORY_MB', 'maxMemoryMb', 0, 0, 1_048_576, 'integer'],
  ['MAX_JOB_KILLS', 'maxJobKills', 2, 0, 1000, 'integer'],
  ['JOB_NAME_LIMIT', 'jobNameLimit', 50, 1, 10_000, 'integer'],
  ['LEADER_TTL_SECONDS', 'leaderTtlSeconds', 15, 2, 3600, 'number'],
  ['LIVEZ_REDIS_SECONDS', 'livezRedisSeconds', 60, 15, 86400, 'number'],
  ['AUTOSCALE_QUIET_SECONDS', 'autoscaleQuietSeconds', 30, 0, 86400, 'number'],
];

describe('numeric settings', () => {
  it.each(NUMBERS)('%s: default, both bounds accepted, just outside rejected naming variable, value and range', (name, key, fallback, min, max, kind) => {
    expect(load({})[key]).toBe(fallback);
    expect(load({ [name]: String(min) })[key]).toBe(min);
    expect(load({ [name]: ` ${max} ` })[key]).toBe(max);
    const step = kind === 'integer' ? 1 : 0.01;
    const range = kind === 'integer' ? `a whole number from ${min} to ${max}` : `a number from ${min} to ${max}`;
    for (const bad of [String(min - step), String(max + step), 'abc', '']) {
      expect(problemsOf({ [name]: bad })).toBe(`invalid configuration:\n  - ${name}=${JSON.stringify(bad)} is not valid: ${range}`);
    }
  });

  it('integers refuse fractions and words; numbers take fractions and refuse Infinity', () => {
    expect(problemsOf({ WORKER_CONCURRENCY: '2.5' })).toContain('WORKER_CONCURRENCY="2.5" is not valid');
    expect(problemsOf({ WORKER_CONCURRENCY: '4 jobs' })).toContain('WORKER_CONCURRENCY="4 jobs"');
    expect(load({ RESTART_DELAY_SECONDS: '0.5' }).restartDelaySeconds).toBe(0.5);
    expect(problemsOf({ RESTART_DELAY_SECONDS: 'Infinity' })).toContain('RESTART_DELAY_SECONDS="Infinity"');
    expect(problemsOf({ RESTART_DELAY_SECONDS: ' ' })).toContain('RESTART_DELAY_SECONDS=" "');
  });

  it('staleAfterMs is HEARTBEAT_SECONDS × MISSED_HEARTBEATS in ms', () => {
    expect(MISSED_HEARTBEATS).toBe(3);
    expect(load({ HEARTBEAT_SECONDS: '2' }).staleAfterMs).toBe(6000);
    expect(load({}).staleAfterMs).toBe(15_000);
  });
});

describe('every problem at once', () => {
  it('lists each bad variable in one error, in the order they are read', () => {
    expect(problemsOf({ WORKER_COUNT: '0', LOG_LEVEL: 'loud', HEALTH_SERVER: 'maybe' })).toBe([
      'invalid configuration:',
      '  - WORKER_COUNT="0" is not valid: a whole number from 1 to 20, "auto" (the CPUs this container may use), or MIN-MAX to autoscale (1 ≤ MIN ≤ MAX ≤ 20, e.g. 2-8)',
      '  - HEALTH_SERVER="maybe" is not valid: one of 1, true, yes, on, 0, false, no, off',
      '  - LOG_LEVEL="loud" is not valid: one of fatal, error, warn, info, debug, trace, silent',
    ].join('\n'));
  });

  it('the configuration is frozen, its lists too', () => {
    const config = load({ QUEUE_NAME: 'a,b' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.queues)).toBe(true);
    expect(Object.isFrozen(config.healthPortRange)).toBe(true);
  });
});

describe('text and choice settings', () => {
  it('has defaults that work', () => {
    const config = load({});
    expect(config).toMatchObject({
      redis: { kind: 'url', url: 'redis://localhost:6379' }, queues: ['llm'], processor: undefined, healthServer: true, healthHost: '0.0.0.0',
      healthPort: 8080, healthPortRange: [8080, 8089], keyPrefix: 'bouy', bullPrefix: 'bull', hostname: os.hostname(),
      adminToken: undefined, singletonModule: undefined, schedules: [], logLevel: 'info', logFormat: 'json',
    });
    expect(config.imageVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('LOG_FORMAT defaults to pretty on a terminal only; LOG_LEVEL and LOG_FORMAT ignore case', () => {
    expect(loadConfig({}, true).logFormat).toBe('pretty');
    expect(load({ LOG_FORMAT: 'PRETTY', LOG_LEVEL: ' Debug ' })).toMatchObject({ logFormat: 'pretty', logLevel: 'debug' });
    expect(problemsOf({ LOG_FORMAT: 'xml' })).toContain('LOG_FORMAT="xml" is not valid: one of json, pretty');
  });

  it.each([['1', true], ['yes', true], ['ON', true], ['true', true], ['0', false], ['no', false], ['off', false], [' False ', false]])('HEALTH_SERVER=%j is %s', (value, expected) => {
    expect(load({ HEALTH_SERVER: value }).healthServer).toBe(expected);
  });

  it('QUEUE_NAME: a comma list, each queue once, names of letters, digits, _ . -', () => {
    expect(load({ QUEUE_NAME: 'high,low.v2,x_y-z' }).queues).toEqual(['high', 'low.v2', 'x_y-z']);
    expect(problemsOf({ QUEUE_NAME: 'a,b,a' })).toContain('QUEUE_NAME="a,b,a" is not valid: each queue once (a is listed twice)');
    for (const bad of ['a b', 'a,', ',a', '']) {
      expect(problemsOf({ QUEUE_NAME: bad })).toContain(`QUEUE_NAME=${JSON.stringify(bad)} is not valid: a queue name or a comma list of them`);
    }
  });

  it('PROCESSOR and SINGLETON_MODULE are trimmed; an empty PROCESSOR is an error, an empty SINGLETON_MODULE unset', () => {
    expect(load({ PROCESSOR: ' ./p.mjs ', SINGLETON_MODULE: ' ./s.mjs ' })).toMatchObject({ processor: './p.mjs', singletonModule: './s.mjs' });
    expect(problemsOf({ PROCESSOR: '  ' })).toContain('PROCESSOR="  " is not valid: a path to a module');
    expect(load({ SINGLETON_MODULE: '  ' }).singletonModule).toBeUndefined();
  });

  it('prefixes and hostname: their characters only', () => {
    expect(load({ BOUY_PREFIX: 'a:b.c-d_e', BULLMQ_PREFIX: 'q:1', BOUY_HOSTNAME: 'host-1.a_b' })).toMatchObject({ keyPrefix: 'a:b.c-d_e', bullPrefix: 'q:1', hostname: 'host-1.a_b' });
    expect(problemsOf({ BOUY_PREFIX: 'a b' })).toContain('BOUY_PREFIX="a b" is not valid: letters, digits, _ . : -');
    expect(problemsOf({ BULLMQ_PREFIX: 'a/b' })).toContain('BULLMQ_PREFIX="a/b" is not valid: letters, digits, _ . : -');
    expect(problemsOf({ BOUY_HOSTNAME: 'a:b' })).toContain('BOUY_HOSTNAME="a:b" is not valid: letters, digits, _ . -');
    expect(problemsOf({ HEALTH_HOST: '' })).toContain('HEALTH_HOST="" is not valid: a non-empty value');
    expect(load({ BOUY_IMAGE_VERSION: '2.0.0' }).imageVersion).toBe('2.0.0');
  });

  it('ADMIN_TOKEN: at least 16 characters, never shown; empty means off', () => {
    expect(load({ ADMIN_TOKEN: 'a'.repeat(16) }).adminToken).toBe('a'.repeat(16));
    expect(load({ ADMIN_TOKEN: '' }).adminToken).toBeUndefined();
    const message = problemsOf({ ADMIN_TOKEN: 'fifteen-chars!!' });
    expect(message).toBe('invalid configuration:\n  - ADMIN_TOKEN="(hidden)" is not valid: at least 16 characters, or unset to turn the admin routes off');
    expect(message).not.toContain('fifteen');
  });
});

describe('REDIS_URL', () => {
  it('takes redis:// and rediss:// URLs', () => {
    expect(load({ REDIS_URL: 'rediss://h:6380/2' }).redis).toMatchObject({ kind: 'url', url: 'rediss://h:6380/2' });
    expect(load({ REDIS_URL: 'redis://h' }).redis).toMatchObject({ kind: 'url', url: 'redis://h' });
  });

  it('refuses anything else without showing its password', () => {
    const message = problemsOf({ REDIS_URL: 'http://user:s3cret@h:1' });
    expect(message).toBe('invalid configuration:\n  - REDIS_URL="http://user:***@h:1/" is not valid: a redis:// or rediss:// URL, e.g. redis://localhost:6379');
    expect(problemsOf({ REDIS_URL: 'not a url' })).toContain('REDIS_URL="not a url" is not valid');
    expect(problemsOf({ REDIS_URL: '' })).toContain('REDIS_URL="" is not valid: a non-empty value');
  });

  it('redactUrl hides passwords, in URLs and in strings that are not', () => {
    expect(redactUrl('redis://:pw@h:6379')).toBe('redis://:***@h:6379');
    expect(redactUrl('redis://u:pw@h:6379/0')).toBe('redis://u:***@h:6379/0');
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
    expect(redactUrl('redis://u:p w@h x')).toBe('redis://u:***@h x');
    expect(redactUrl('no url at all')).toBe('no url at all');
  });
});

describe('HEALTH_PORT and HEALTH_PORT_RANGE', () => {
  it('the port defaults to the start of the range and must lie inside it', () => {
    expect(load({ HEALTH_PORT_RANGE: '9000-9002' })).toMatchObject({ healthPort: 9000, healthPortRange: [9000, 9002] });
    expect(load({ HEALTH_PORT_RANGE: '9000-9002', HEALTH_PORT: '9002' }).healthPort).toBe(9002);
    expect(load({ HEALTH_PORT_RANGE: '9000-9000' }).healthPortRange).toEqual([9000, 9000]);
    expect(load({ HEALTH_PORT_RANGE: '1-65535', HEALTH_PORT: '65535' }).healthPort).toBe(65535);
    const inside = 'is not valid: a port inside HEALTH_PORT_RANGE (9000-9002)';
    expect(problemsOf({ HEALTH_PORT_RANGE: '9000-9002', HEALTH_PORT: '8999' })).toContain(`HEALTH_PORT="8999" ${inside}`);
    expect(problemsOf({ HEALTH_PORT_RANGE: '9000-9002', HEALTH_PORT: '9003' })).toContain(`HEALTH_PORT="9003" ${inside}`);
  });

  it.each(['0-10', '10-65536', '9002-9000', '9000', 'a-b', '9000-'])('HEALTH_PORT_RANGE=%j is refused, once', (value) => {
    expect(problemsOf({ HEALTH_PORT_RANGE: value, HEALTH_PORT: '9000' })).toBe(
      `invalid configuration:\n  - HEALTH_PORT_RANGE=${JSON.stringify(value)} is not valid: LOW-HIGH with 1 ≤ LOW ≤ HIGH ≤ 65535, e.g. 8080-8089`);
  });
});

describe('fleet settings (the CLI)', () => {
  it('reads prefixes and the heartbeat, or takes the heartbeat given', () => {
    expect(loadFleetSettings({})).toMatchObject({ keyPrefix: 'bouy', bullPrefix: 'bull', heartbeatSeconds: 5, staleAfterMs: 15_000, redis: { kind: 'url', url: 'redis://localhost:6379' } });
    expect(loadFleetSettings({ BOUY_PREFIX: 'p', BULLMQ_PREFIX: 'b', HEARTBEAT_SECONDS: '1' })).toMatchObject({ keyPrefix: 'p', bullPrefix: 'b', heartbeatSeconds: 1, staleAfterMs: 3000 });
    expect(loadFleetSettings({ HEARTBEAT_SECONDS: 'x' }, { heartbeatSeconds: 0.1 }).heartbeatSeconds).toBe(0.1);
    expect(loadFleetSettings({}, { heartbeatSeconds: 3600 }).heartbeatSeconds).toBe(3600);
    expect(Object.isFrozen(loadFleetSettings({}))).toBe(true);
  });

  it('refuses a heartbeat out of range, given or read, and bad prefixes', () => {
    const fleet = (env: Record<string, string>, heartbeatSeconds?: number) => () => loadFleetSettings(env, heartbeatSeconds === undefined ? {} : { heartbeatSeconds });
    expect(problemsOf({}, (e) => fleet(e, 0.09)())).toContain('--heartbeat-seconds="0.09" is not valid: a number from 0.1 to 3600');
    expect(problemsOf({}, (e) => fleet(e, 3601)())).toContain('--heartbeat-seconds="3601" is not valid');
    expect(problemsOf({ HEARTBEAT_SECONDS: '0' }, (e) => fleet(e)())).toContain('HEARTBEAT_SECONDS="0" is not valid');
    expect(problemsOf({ BOUY_PREFIX: 'a b' }, (e) => fleet(e)())).toContain('BOUY_PREFIX="a b" is not valid');
    expect(problemsOf({ BULLMQ_PREFIX: 'a b' }, (e) => fleet(e)())).toContain('BULLMQ_PREFIX="a b" is not valid');
  });

  it('sharedSettings: what every worker must agree on, the password hidden', () => {
    expect(sharedSettings(load({ REDIS_URL: 'redis://:pw@r:6379', QUEUE_NAME: 'a,b', WORKER_CONCURRENCY: '3', MAX_JOBS_PER_WORKER: '7', MAX_MEMORY_MB: '9', BOUY_IMAGE_VERSION: '1.2.3' }))).toEqual({
      redis: 'redis://:***@r:6379', prefixes: 'bouy bull', queues: 'a,b', concurrency: 3, processor: '(by queue name)', maxJobsPerWorker: 7, maxMemoryMb: 9, version: '1.2.3',
      jobTimeoutSeconds: 0, globalConcurrency: null, rateLimit: null,
    });
    expect(sharedSettings(load({ PROCESSOR: './p.mjs' })).processor).toBe('./p.mjs');
  });
});

describe('port ranges (HEALTH_PORT_RANGE, the CLI\'s BOUY_HEALTH_PORTS)', () => {
  it('reads LOW-HIGH within 1-65535, LOW ≤ HIGH; one port only where allowed', () => {
    expect(portRange('8080-8089')).toEqual([8080, 8089]);
    expect(portRange('1-65535')).toEqual([1, 65535]);
    expect(portRange('9000-9000')).toEqual([9000, 9000]);
    expect(portRange('9000')).toBeUndefined();
    expect(portRange('9000', true)).toEqual([9000, 9000]);
    for (const bad of ['0-10', '10-65536', '10-9', '0', 'a-b', '8080-', '-8080', '123456-123457', ' 1-2', '1-2 ', '1-2-3']) {
      expect(portRange(bad, true)).toBeUndefined();
    }
  });

  it('HEALTH_PORT_RANGE is trimmed, and a bad one is the one problem (HEALTH_PORT not judged against the default range)', () => {
    expect(load({ HEALTH_PORT_RANGE: ' 9000-9001 ' })).toMatchObject({ healthPortRange: [9000, 9001], healthPort: 9000 });
    expect(problemsOf({ HEALTH_PORT_RANGE: '9000', HEALTH_PORT: '9000' })).toBe('invalid configuration:\n  - HEALTH_PORT_RANGE="9000" is not valid: LOW-HIGH with 1 ≤ LOW ≤ HIGH ≤ 65535, e.g. 8080-8089');
    expect(problemsOf({ HEALTH_PORT_RANGE: '9000-9001', HEALTH_PORT: '8080' })).toBe('invalid configuration:\n  - HEALTH_PORT="8080" is not valid: a port inside HEALTH_PORT_RANGE (9000-9001)');
  });
});

describe('PROCESSOR and PROCESSORS_DIR', () => {
  it('trimmed paths; unset is undefined; set but blank is named with what is allowed', () => {
    expect(load({ PROCESSOR: ' ./p.mjs ', PROCESSORS_DIR: ' ./procs ' })).toMatchObject({ processor: './p.mjs', processorsDir: './procs' });
    expect(load({})).toMatchObject({ processor: undefined, processorsDir: undefined });
    expect(problemsOf({ PROCESSOR: ' ', PROCESSORS_DIR: '  ' })).toBe([
      'invalid configuration:',
      '  - PROCESSOR=" " is not valid: a path to a module whose default export processes a job, or unset',
      '  - PROCESSORS_DIR="  " is not valid: a folder holding one module per queue (<queue>.ts, .mjs or .js), or unset',
    ].join('\n'));
  });
});

import { describe, expect, it } from 'vitest';
import { loadApiSettings, type ApiSettings } from '../../src/config/api.js';
import { loadDashboardSettings, MIN_PASSWORD_LENGTH } from '../../src/config/dashboard.js';
import { Problems } from '../../src/config/parse.js';
import { loadSchedulerSettings } from '../../src/config/scheduler.js';
import { parseSharedSettings } from '../../src/config/shared.js';
import { BouyError } from '../../src/errors.js';

/** The error `load` refuses with: a BouyError, exit 64. */
function refusal(load: () => unknown): BouyError {
  try {
    load();
  } catch (error) {
    if (!(error instanceof BouyError)) throw error;
    expect(error.exitCode).toBe(64);
    return error;
  }
  throw new Error('expected a refusal');
}

const TOKEN = 't'.repeat(16);
const WORKER_ONLY = { MAX_MEMORY_MB: 'abc', WORKER_COUNT: '0', HEALTH_PORT_RANGE: 'x', SHUTDOWN_TIMEOUT_SECONDS: '-1', QUEUE_RATE_LIMIT: 'fast' };

describe('the shared settings', () => {
  it('defaults, trimmed values, the log format by terminal, every problem named', () => {
    const problems = new Problems();
    expect(parseSharedSettings({ QUEUE_NAME: 'a:3,b', BOUY_HOSTNAME: ' box-1 ', LOG_LEVEL: 'DEBUG' }, problems, true)).toMatchObject({ hostname: 'box-1', logLevel: 'debug', logFormat: 'pretty', healthHost: '0.0.0.0', keyPrefix: 'bouy', bullPrefix: 'bull' });
    expect(problems.list).toEqual(['QUEUE_NAME="a:3,b" is not valid: a weight on every queue or on none (strict priority): e.g. emails:3,thumbnails:1']);
    expect(parseSharedSettings({ QUEUE_NAME: 'a:3,b:1', HEALTH_HOST: '127.0.0.1' }, new Problems(), false)).toMatchObject({ queues: ['a', 'b'], queueWeights: [3, 1], logFormat: 'json', healthHost: '127.0.0.1' });
    const bad = new Problems();
    parseSharedSettings({ BOUY_HOSTNAME: 'a b', LOG_FORMAT: 'xml', HEALTH_HOST: '' }, bad, false);
    expect(bad.list).toEqual([
      'HEALTH_HOST="" is not valid: a non-empty value',
      'BOUY_HOSTNAME="a b" is not valid: letters, digits, _ . -',
      'LOG_FORMAT="xml" is not valid: one of json, pretty',
    ]);
  });
});

describe("the api's settings", () => {
  it('are the shared ones plus its own; a worker-only setting is not read', () => {
    const settings: ApiSettings = loadApiSettings({ ...WORKER_ONLY, API_TOKEN: TOKEN, QUEUE_NAME: 'a,b', JOB_ATTEMPTS: '3' }, false);
    expect(settings).toMatchObject({ apiHost: '0.0.0.0', apiPort: 8000, token: TOKEN, authentication: 'bearer token (API_TOKEN)', queues: ['a', 'b'], jobDefaults: { attempts: 3 } });
    expect(Object.isFrozen(settings)).toBe(true);
    expect(loadApiSettings({ HEALTH_HOST: '127.0.0.1', API_PORT: '65535' }, false)).toMatchObject({ apiHost: '127.0.0.1', apiPort: 65535, token: undefined, authentication: 'none (loopback only)' });
    expect(loadApiSettings({ API_HOST: ' ::1 ', API_TOKEN: '' }, false)).toMatchObject({ apiHost: '::1', token: undefined, authentication: 'none (loopback only)' });
    expect(loadApiSettings({ API_AUTH: ' None ' }, false)).toMatchObject({ apiHost: '0.0.0.0', token: undefined, authentication: 'none (API_AUTH=none)' });
  });

  it('lists its own problems and the shared ones at once, never the token', () => {
    const error = refusal(() => loadApiSettings({ API_PORT: '0', API_AUTH: 'maybe', API_TOKEN: 'short-secret', JOB_BACKOFF: 'linear:1', LOG_LEVEL: 'loud', API_HOST: '' }, false));
    expect(error.message).toBe([
      'invalid configuration:',
      '  - API_PORT="0" is not valid: a whole number from 1 to 65535',
      '  - API_AUTH="maybe" is not valid: one of token, none',
      '  - API_TOKEN="(hidden)" is not valid: at least 16 characters, e.g. `openssl rand -hex 32`',
      '  - JOB_BACKOFF="linear:1" is not valid: exponential or fixed:<delay ms>, e.g. exponential:1000 (1 s, 2 s, 4 s …)',
      '  - LOG_LEVEL="loud" is not valid: one of fatal, error, warn, info, debug, trace, silent',
      '  - API_HOST="" is not valid: a non-empty value',
    ].join('\n'));
    expect(refusal(() => loadApiSettings({ API_TOKEN: TOKEN, API_AUTH: 'none' }, false)).message)
      .toBe('invalid configuration:\n  - API_AUTH="none" is not valid: token while API_TOKEN is set (unset API_TOKEN for an api without authentication)');
    expect(refusal(() => loadApiSettings({ API_TOKEN: TOKEN.slice(1) }, false)).message).not.toContain(TOKEN.slice(1));
  });

  it('refuses to listen beyond loopback without a token, saying what to set', () => {
    const error = refusal(() => loadApiSettings({}, false));
    expect(error.code).toBe('BOUY_ERR_CONFIG');
    expect(error.message).toBe('the api would listen on 0.0.0.0 with no authentication: API_TOKEN is not set');
    expect(error.hint).toBe('set API_TOKEN (at least 16 characters, e.g. `openssl rand -hex 32`; clients send `Authorization: Bearer <API_TOKEN>`), '
      + 'or API_HOST=127.0.0.1 to serve this machine only, or API_AUTH=none to serve it without authentication on purpose');
  });
});

describe("the dashboard's settings", () => {
  const password = 'p'.repeat(MIN_PASSWORD_LENGTH);

  it('are the shared ones plus its own; a worker-only setting is not read', () => {
    expect(MIN_PASSWORD_LENGTH).toBe(12);
    const settings = loadDashboardSettings({ ...WORKER_ONLY, DASHBOARD_USER: ' ops ', DASHBOARD_PASSWORD: password, QUEUE_NAME: 'a' }, false);
    expect(settings).toMatchObject({ dashboardHost: '0.0.0.0', dashboardPort: 9181, auth: { kind: 'basic', user: 'ops', password }, queues: ['a'] });
    expect(Object.isFrozen(settings)).toBe(true);
    expect(loadDashboardSettings({ HEALTH_HOST: '127.0.0.1', DASHBOARD_PORT: '1' }, false)).toMatchObject({ dashboardHost: '127.0.0.1', dashboardPort: 1, auth: { kind: 'none', why: 'loopback' } });
    expect(loadDashboardSettings({ DASHBOARD_AUTH: 'none', DASHBOARD_USER: 'a:b', DASHBOARD_PASSWORD: 'x' }, false)).toMatchObject({ auth: { kind: 'none', why: 'DASHBOARD_AUTH=none' } });
    expect(loadDashboardSettings({ DASHBOARD_HOST: '127.0.0.1', DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: password }, false)).toMatchObject({ auth: { kind: 'basic' } });
  });

  it('lists its own problems and the shared ones at once, with how to set credentials, never the password', () => {
    const error = refusal(() => loadDashboardSettings({ DASHBOARD_PORT: '65536', DASHBOARD_USER: 'a:b', DASHBOARD_PASSWORD: 'short-pw', BOUY_HOSTNAME: 'a b', DASHBOARD_HOST: '' }, false));
    expect(error.message).toBe([
      'invalid configuration:',
      '  - DASHBOARD_PORT="65536" is not valid: a whole number from 1 to 65535',
      '  - DASHBOARD_USER="a:b" is not valid: a user name without ":" or control characters',
      '  - DASHBOARD_PASSWORD="(hidden)" is not valid: at least 12 characters',
      '  - BOUY_HOSTNAME="a b" is not valid: letters, digits, _ . -',
      '  - DASHBOARD_HOST="" is not valid: a non-empty value',
    ].join('\n'));
    expect(error.hint).toContain('set DASHBOARD_USER and DASHBOARD_PASSWORD');
    expect(refusal(() => loadDashboardSettings({ DASHBOARD_USER: 'u\u0007' }, false)).message).toContain('DASHBOARD_USER="u\\u0007" is not valid: a user name without ":" or control characters');
    expect(refusal(() => loadDashboardSettings({ DASHBOARD_USER: 'ops' }, false)).message).toBe('invalid configuration:\n  - DASHBOARD_PASSWORD=(unset) is not valid: set together with DASHBOARD_USER (both, or neither)');
    expect(refusal(() => loadDashboardSettings({ DASHBOARD_PASSWORD: password, DASHBOARD_USER: '  ' }, false)).message).toBe('invalid configuration:\n  - DASHBOARD_USER=(unset) is not valid: set together with DASHBOARD_PASSWORD (both, or neither)');
    expect(refusal(() => loadDashboardSettings({ DASHBOARD_PASSWORD: 'p'.repeat(MIN_PASSWORD_LENGTH - 1), DASHBOARD_USER: 'u' }, false)).message).toContain('DASHBOARD_PASSWORD="(hidden)"');
  });

  it('refuses to listen beyond loopback without credentials, saying what to set', () => {
    const error = refusal(() => loadDashboardSettings({}, false));
    expect(error.code).toBe('BOUY_ERR_CONFIG');
    expect(error.message).toBe('the dashboard would listen on 0.0.0.0 without authentication: DASHBOARD_USER and DASHBOARD_PASSWORD are not set');
    expect(error.hint).toBe('set DASHBOARD_USER and DASHBOARD_PASSWORD (`./bouy setup` generates them into .env), or bind to loopback (DASHBOARD_HOST=127.0.0.1), or, to serve it open on purpose, DASHBOARD_AUTH=none');
  });
});

describe("the scheduler's settings", () => {
  it('are the shared ones plus a leader\'s; a worker-only setting is not read', () => {
    const settings = loadSchedulerSettings({ MAX_MEMORY_MB: 'abc', WORKER_COUNT: '0', QUEUE_RATE_LIMIT: 'fast', HEALTH_PORT_RANGE: ' 9000-9001 ', LEADER_TTL_SECONDS: '2', SINGLETON_MODULE: ' ./m.js ' }, false);
    expect(settings).toMatchObject({ healthServer: true, healthPort: 9000, healthPortRange: [9000, 9001], leaderTtlSeconds: 2, singletonModule: './m.js', schedules: [], queues: ['llm'] });
    expect(Object.isFrozen(settings) && Object.isFrozen(settings.healthPortRange)).toBe(true);
    expect(loadSchedulerSettings({ SINGLETON_MODULE: ' ' }, false)).toMatchObject({ healthPort: 8080, healthPortRange: [8080, 8089], leaderTtlSeconds: 15, singletonModule: undefined });
  });

  it('lists its own problems, then the shared ones, at once', () => {
    expect(refusal(() => loadSchedulerSettings({ HEALTH_PORT: '9100', HEALTH_SERVER: 'maybe', LEADER_TTL_SECONDS: '1', LOG_LEVEL: 'loud' }, false)).message).toBe([
      'invalid configuration:',
      '  - HEALTH_PORT="9100" is not valid: a port inside HEALTH_PORT_RANGE (8080-8089)',
      '  - HEALTH_SERVER="maybe" is not valid: one of 1, true, yes, on, 0, false, no, off',
      '  - LEADER_TTL_SECONDS="1" is not valid: a number from 2 to 3600',
      '  - LOG_LEVEL="loud" is not valid: one of fatal, error, warn, info, debug, trace, silent',
    ].join('\n'));
    expect(refusal(() => loadSchedulerSettings({ HEALTH_PORT_RANGE: '9000', HEALTH_PORT: '1' }, false)).message)
      .toBe('invalid configuration:\n  - HEALTH_PORT_RANGE="9000" is not valid: LOW-HIGH with 1 ≤ LOW ≤ HIGH ≤ 65535, e.g. 8080-8089');
  });
});

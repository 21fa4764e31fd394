import { describe, expect, it } from 'vitest';
import { BouyError } from '../../src/errors.js';
import { Problems } from '../../src/config/parse.js';
import { describeRateLimit, loadJobDefaults, parseJobSettings, withJobDefaults, type JobSettings } from '../../src/config/jobs.js';
import { loadLlmSettings } from '../../src/config/llm.js';

/** The job settings and every problem parseJobSettings found in `env`. */
function read(env: Record<string, string>): { settings: JobSettings; problems: string[] } {
  const problems = new Problems();
  const settings = parseJobSettings(env, problems);
  return { settings, problems: problems.list };
}

const RATE_LIMIT_HELP = '<max>/<duration>, e.g. 50/1s, 3000/1m, 10/500ms (max 1 or more, duration up to 24h)';
const BACKOFF_HELP = 'exponential or fixed:<delay ms>, e.g. exponential:1000 (1 s, 2 s, 4 s …)';

describe('job settings: defaults and bounds', () => {
  it('defaults: checks fail the start, no timeout, 5 s grace, 30 s lock, no limits, one attempt', () => {
    expect(read({})).toEqual({
      problems: [],
      settings: {
        processorCheck: 'fail', processorCheckSeconds: 0, jobTimeoutSeconds: 0, jobTimeoutGraceSeconds: 5, jobLockSeconds: 30,
        globalConcurrency: undefined, rateLimit: undefined, jobDefaults: { attempts: 1, backoff: undefined },
      },
    });
  });

  // Each numeric job setting: its variable, where it lands, its inclusive bounds, whole or not.
  const NUMBERS: [string, (s: JobSettings) => unknown, number, number, 'integer' | 'number'][] = [
    ['PROCESSOR_CHECK_SECONDS', (s) => s.processorCheckSeconds, 0, 86_400, 'number'],
    ['JOB_TIMEOUT_SECONDS', (s) => s.jobTimeoutSeconds, 0, 86_400, 'number'],
    ['JOB_TIMEOUT_GRACE_SECONDS', (s) => s.jobTimeoutGraceSeconds, 0.5, 3600, 'number'],
    ['JOB_LOCK_SECONDS', (s) => s.jobLockSeconds, 1, 3600, 'number'],
    ['QUEUE_GLOBAL_CONCURRENCY', (s) => s.globalConcurrency, 1, 100_000, 'integer'],
    ['JOB_ATTEMPTS', (s) => s.jobDefaults.attempts, 1, 100, 'integer'],
  ];

  it.each(NUMBERS)('%s: both bounds accepted, just outside and words refused naming the variable and the range', (name, get, min, max, kind) => {
    expect(get(read({ [name]: String(min) }).settings)).toBe(min);
    expect(get(read({ [name]: ` ${max} ` }).settings)).toBe(max);
    const step = kind === 'integer' ? 1 : 0.01;
    const range = kind === 'integer' ? `a whole number from ${min} to ${max}` : `a number from ${min} to ${max}`;
    for (const bad of [String(min - step), String(max + step), 'abc']) {
      expect(read({ [name]: bad }).problems).toEqual([`${name}=${JSON.stringify(bad)} is not valid: ${range}`]);
    }
  });

  it('QUEUE_GLOBAL_CONCURRENCY blank is no limit, not a problem', () => {
    expect(read({ QUEUE_GLOBAL_CONCURRENCY: '  ' })).toMatchObject({ problems: [], settings: { globalConcurrency: undefined } });
    expect(read({ QUEUE_GLOBAL_CONCURRENCY: '0' }).settings.globalConcurrency).toBeUndefined();
  });

  it('PROCESSOR_CHECK is fail or warn', () => {
    expect(read({ PROCESSOR_CHECK: 'WARN' }).settings.processorCheck).toBe('warn');
    expect(read({ PROCESSOR_CHECK: 'maybe' }).problems).toEqual(['PROCESSOR_CHECK="maybe" is not valid: one of fail, warn']);
  });
});

describe('QUEUE_RATE_LIMIT', () => {
  it.each([
    ['50/1s', 50, 1000], [' 3000/1m ', 3000, 60_000], ['10/500ms', 10, 500], ['1/1ms', 1, 1], ['2/24h', 2, 86_400_000], ['7/2h', 7, 7_200_000],
    ['999999999/1s', 999_999_999, 1000],
  ])('%j: at most %i starts per %i ms', (value, max, durationMs) => {
    const { settings, problems } = read({ QUEUE_RATE_LIMIT: value });
    expect(problems).toEqual([]);
    expect(settings.rateLimit).toEqual({ max, durationMs });
    expect(Object.isFrozen(settings.rateLimit)).toBe(true);
  });

  it('unset or blank: no rate limit', () => {
    expect(read({ QUEUE_RATE_LIMIT: '' }).settings.rateLimit).toBeUndefined();
    expect(read({ QUEUE_RATE_LIMIT: '   ' })).toMatchObject({ problems: [], settings: { rateLimit: undefined } });
  });

  it.each(['50 per second', '0/1s', '5/0s', '1/25h', '1/86400001ms', '50/1d', '50/s', '/1s', '1234567890/1s', '50/1s extra', 'x50/1s', '-1/1s'])('refuses %j naming the form allowed', (value) => {
    const { settings, problems } = read({ QUEUE_RATE_LIMIT: value });
    expect(problems).toEqual([`QUEUE_RATE_LIMIT=${JSON.stringify(value)} is not valid: ${RATE_LIMIT_HELP}`]);
    expect(settings.rateLimit).toBeUndefined();
  });

  it('reads back as the shortest whole unit, for banners and /health', () => {
    expect(describeRateLimit(undefined)).toBeNull();
    expect(describeRateLimit({ max: 50, durationMs: 1000 })).toBe('50/1s');
    expect(describeRateLimit({ max: 3000, durationMs: 60_000 })).toBe('3000/1m');
    expect(describeRateLimit({ max: 10, durationMs: 500 })).toBe('10/500ms');
    expect(describeRateLimit({ max: 1, durationMs: 3_600_000 })).toBe('1/1h');
    expect(describeRateLimit({ max: 7, durationMs: 7_200_000 })).toBe('7/2h');
    expect(describeRateLimit({ max: 5, durationMs: 90_000 })).toBe('5/90s');
    expect(describeRateLimit({ max: 5, durationMs: 1500 })).toBe('5/1500ms');
    expect(describeRateLimit({ max: 5, durationMs: 0.5 })).toBe('5/0.5ms');
  });
});

describe('job defaults (JOB_ATTEMPTS, JOB_BACKOFF)', () => {
  it('reads the backoff strategy and its delay', () => {
    expect(read({ JOB_BACKOFF: 'exponential:1000' }).settings.jobDefaults).toEqual({ attempts: 1, backoff: { type: 'exponential', delay: 1000 } });
    expect(read({ JOB_BACKOFF: ' fixed:0 ', JOB_ATTEMPTS: '3' }).settings.jobDefaults).toEqual({ attempts: 3, backoff: { type: 'fixed', delay: 0 } });
    expect(read({ JOB_BACKOFF: '' }).settings.jobDefaults.backoff).toBeUndefined();
    expect(read({ JOB_BACKOFF: '  ' }).problems).toEqual([]);
    const { jobDefaults } = read({ JOB_BACKOFF: 'fixed:5' }).settings;
    expect(Object.isFrozen(jobDefaults) && Object.isFrozen(jobDefaults.backoff)).toBe(true);
  });

  it.each(['linear:5', 'fixed:', 'fixed:-1', 'fixed', 'fixed:1.5', 'exponential:1234567890', 'xfixed:5', 'fixed:5x'])('refuses JOB_BACKOFF=%j naming both strategies', (value) => {
    const { settings, problems } = read({ JOB_BACKOFF: value });
    expect(problems).toEqual([`JOB_BACKOFF=${JSON.stringify(value)} is not valid: ${BACKOFF_HELP}`]);
    expect(settings.jobDefaults.backoff).toBeUndefined();
  });

  it('loadJobDefaults reads them alone, and refuses with exit 64 listing every problem', () => {
    expect(loadJobDefaults({ JOB_ATTEMPTS: '4', JOB_BACKOFF: 'fixed:10', QUEUE_RATE_LIMIT: 'ignored here' })).toEqual({ attempts: 4, backoff: { type: 'fixed', delay: 10 } });
    let caught: unknown;
    try {
      loadJobDefaults({ JOB_ATTEMPTS: '0', JOB_BACKOFF: 'linear:5' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BouyError);
    expect((caught as BouyError).exitCode).toBe(64);
    expect((caught as BouyError).message).toBe([
      'invalid configuration:',
      '  - JOB_ATTEMPTS="0" is not valid: a whole number from 1 to 100',
      `  - JOB_BACKOFF="linear:5" is not valid: ${BACKOFF_HELP}`,
    ].join('\n'));
  });

  it("a new job gets the defaults, then whatever it says itself", () => {
    const defaults = { attempts: 3, backoff: { type: 'exponential' as const, delay: 1000 } };
    expect(withJobDefaults(defaults, undefined)).toEqual({ attempts: 3, backoff: { type: 'exponential', delay: 1000 } });
    expect(withJobDefaults(defaults, { attempts: 1, priority: 2 })).toEqual({ attempts: 1, backoff: { type: 'exponential', delay: 1000 }, priority: 2 });
    expect(withJobDefaults(defaults, { backoff: { type: 'fixed', delay: 5 } })).toEqual({ attempts: 3, backoff: { type: 'fixed', delay: 5 } });
    expect(withJobDefaults({ attempts: 1, backoff: undefined }, {})).toEqual({ attempts: 1 });
  });
});

describe('the llm example processor settings', () => {
  it('reads the key and the model, trimmed; a blank key is none, a blank model the simulated one', () => {
    expect(loadLlmSettings({})).toEqual({ apiKey: undefined, model: 'simulated-1' });
    expect(loadLlmSettings({ LLM_API_KEY: ' sk-1 ', LLM_MODEL: ' big-2 ' })).toEqual({ apiKey: 'sk-1', model: 'big-2' });
    expect(loadLlmSettings({ LLM_API_KEY: '  ', LLM_MODEL: '  ' })).toEqual({ apiKey: undefined, model: 'simulated-1' });
    expect(Object.isFrozen(loadLlmSettings({}))).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { applyPassedSettings, DEFAULT_PREFIX, SET_PREFIX } from '../../src/config/passed-settings.js';

// What the compose files pass (BOUY_SET_<NAME>, BOUY_DEFAULT_<NAME>) turned into the real
// variables, so that only what someone set reaches the service (see passed-settings.ts).
describe('settings passed by the compose files', () => {
  it('BOUY_SET_<NAME> given wins over the image; empty means unset; both kinds are removed', () => {
    expect([SET_PREFIX, DEFAULT_PREFIX]).toEqual(['BOUY_SET_', 'BOUY_DEFAULT_']);
    const env: Record<string, string | undefined> = { QUEUE_NAME: 'from-image', BOUY_SET_QUEUE_NAME: 'given', BOUY_SET_WORKER_COUNT: '', BOUY_SET_: 'x', BOUY_DEFAULT_: 'y', OTHER: 'kept' };
    applyPassedSettings(env);
    expect(env).toEqual({ QUEUE_NAME: 'given', BOUY_SET_: 'x', BOUY_DEFAULT_: 'y', OTHER: 'kept' });
  });

  it('BOUY_DEFAULT_<NAME> applies only when neither given nor in the image (an empty one counts as not given)', () => {
    const env: Record<string, string | undefined> = {
      LOG_FORMAT: 'json', BOUY_DEFAULT_LOG_FORMAT: 'pretty',
      BOUY_DEFAULT_LOG_LEVEL: 'debug',
      WORKER_COUNT: '', BOUY_DEFAULT_WORKER_COUNT: '2',
      BOUY_SET_QUEUE_NAME: 'given', BOUY_DEFAULT_QUEUE_NAME: 'fallback',
      BOUY_DEFAULT_EMPTY: '', BOUY_SET_UNDEFINED: undefined,
    };
    applyPassedSettings(env);
    expect(env).toEqual({ LOG_FORMAT: 'json', LOG_LEVEL: 'debug', WORKER_COUNT: '2', QUEUE_NAME: 'given' });
  });

  it('a set value, then a default for the same name: the set one holds', () => {
    const env: Record<string, string | undefined> = { BOUY_DEFAULT_A: 'default', BOUY_SET_A: 'set' };
    applyPassedSettings(env);
    expect(env).toEqual({ A: 'set' });
  });
});

import { expect } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { BouyError } from '../../src/errors.js';

/** The message loadConfig rejects `env` with; fails the test unless it is an exit-64 BouyError. */
export function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env, false);
  } catch (error) {
    expect(error).toBeInstanceOf(BouyError);
    expect((error as BouyError).exitCode).toBe(64);
    return (error as BouyError).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

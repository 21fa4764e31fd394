import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BouyError, describeError, EXIT, EXIT_BY_CODE, exitCodeOf, invalidConfiguration, noRunningContainer } from '../src/errors.js';
import { ROOT } from './helpers/processes.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

describe('the error catalogue', () => {
  const files = sources(path.join(ROOT, 'src'));
  const catalogue = path.join(ROOT, 'src', 'errors.ts');
  const elsewhere = files.filter((f) => f !== catalogue).map((f) => readFileSync(f, 'utf8')).join('\n');
  const factories = readFileSync(catalogue, 'utf8').split('/*\n * The messages said from more than one place')[1] ?? '';

  it.each(Object.keys(EXIT_BY_CODE))('%s is thrown somewhere (no code that nothing raises)', (code) => {
    expect(elsewhere.includes(`'${code}'`) || factories.includes(`'${code}'`)).toBe(true);
  });

  it('every exit status is a sysexits value the README names', () => {
    for (const exit of Object.values(EXIT_BY_CODE)) expect([EXIT.usage, EXIT.unavailable, EXIT.software]).toContain(exit);
  });

  it('a person sees the message and the hint; a shell sees the status', () => {
    const error = noRunningContainer('worker', 'bouy');
    expect(describeError(error)).toBe('no running worker container in project bouy\n  hint: start it: ./bouy up worker');
    expect(exitCodeOf(error)).toBe(69);
    const config = invalidConfiguration(['A="x" is not valid: a number', 'B="y" is not valid: a port']);
    expect(config.message).toBe('invalid configuration:\n  - A="x" is not valid: a number\n  - B="y" is not valid: a port');
    expect(exitCodeOf(config)).toBe(64);
    expect(exitCodeOf(new Error('bug'))).toBe(70);
    expect(new BouyError('BOUY_ERR_REDIS_AUTH', 'x').exitCode).toBe(69);
  });
});

import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, started } from './helpers/processes.js';

/**
 * The chaos script end to end with small numbers: real redis-server (AOF, killed and started
 * again), a real supervisor (SIGTERMed and started again), real workers (SIGKILLed). It must
 * account for every job and say so in its last line and its exit code.
 */
it('loses no job while workers, the supervisor and Redis are killed', async () => {
  const proc = spawn(process.execPath, [path.join(ROOT, 'scripts', 'chaos.mjs'), '--jobs', '150', '--seconds', '20', '--workers', '2', '--quiet'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(proc);
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));

  const lines = out.trim().split('\n');
  const number = (label: string) => Number(new RegExp(`^${label}: (\\d+)$`, 'm').exec(out)?.[1]);
  expect(lines.at(-1), out).toBe('lost: 0');
  expect(code, out).toBe(0);
  expect(number('enqueued')).toBe(150);
  expect(number('completed')).toBe(150);
  // The run really was chaotic: every kind of fault happened at least once.
  const faults = /faults: (\d+) worker SIGKILLs, (\d+) supervisor SIGTERM\+restarts, (\d+) Redis kills\+restarts/.exec(out);
  expect(faults, out).not.toBeNull();
  expect(faults!.slice(1).map(Number).every((n) => n > 0), out).toBe(true);
}, 120_000);

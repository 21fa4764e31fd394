import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './processes.js';

export const BOUY = path.join(ROOT, 'bouy');

export interface BouyResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `./bouy …args` as a user would, with `env` on top of this process's environment, no
 * terminal and no colour, in `cwd` (an application's folder: bouy drives that one's stack).
 * Resolves when it exits; a command that outlives `timeoutMs` is killed and reported, never
 * left behind.
 */
export function bouy(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 240_000, cwd?: string): Promise<BouyResult> {
  return runCommand(BOUY, args, { ...process.env, NO_COLOR: '1', ...env }, timeoutMs, cwd);
}

/** Any command (`npx bouy …` in an application's folder too), as `bouy` runs ./bouy: `env` is its whole environment. */
export function runCommand(file: string, args: string[], env: Record<string, string | undefined>, timeoutMs = 240_000, cwd?: string): Promise<BouyResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Parses a --json result, failing with the command's output when it is not JSON. */
export function json<T>(result: BouyResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

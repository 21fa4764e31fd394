import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** What the image runs (its ENTRYPOINT): the bundle of scripts/bundle.mjs, not tsc's dist/entrypoint.js. */
export const ENTRYPOINT = path.join(ROOT, 'dist', 'bundle', 'entrypoint.js');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/** Every process a test started, so the leak guard can fail a test that leaves one behind. */
export const started = new Set<ChildProcess>();

export interface LogLine {
  level?: number;
  msg?: string;
  worker?: string;
  [key: string]: unknown;
}

export interface Running {
  proc: ChildProcess;
  pid: number;
  lines: LogLine[];
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(predicate: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  kill(signal?: NodeJS.Signals): void;
}

/** Runs `node dist/bundle/entrypoint.js …args` with `env` on top of a minimal environment. */
export function runEntrypoint(args: string[], env: Record<string, string | undefined>, options: { detached?: boolean; cwd?: string } = {}): Running {
  const proc = spawn(process.execPath, [ENTRYPOINT, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_FORMAT: 'json', ...env },
    // An application's folder (its processors/), else this checkout.
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio: ['ignore', 'pipe', 'pipe'],
    // detached: its own process group, which a test can kill whole (a container dying).
    detached: options.detached ?? false,
  });
  started.add(proc);
  const lines: LogLine[] = [];
  const stdout: string[] = [];
  const stderr: string[] = [];
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    stdout.push(line);
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // not a log line
    }
  });
  readline.createInterface({ input: proc.stderr }).on('line', (line) => stderr.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': 'exit' can come before the last lines on stdout were read, and
    // tests read the log once the process is gone.
    proc.on('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    proc,
    pid: proc.pid!,
    lines,
    stdout,
    stderr,
    exited,
    waitForLog: (predicate, what, timeoutMs = 20_000) => waitFor(() => lines.find(predicate), what, timeoutMs),
    kill: (signal = 'SIGTERM') => {
      proc.kill(signal);
    },
  };
}

/** Pids of live processes whose command line contains `needle` (from /proc). */
export async function pidsMatching(needle: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (cmdline.includes(needle) && !/\) Z /.test(stat)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Stops a supervisor started by a test and waits for it; SIGKILL if it does not go. */
export async function stopProcess(running: Running, timeoutMs = 30_000): Promise<void> {
  if (running.proc.exitCode !== null || running.proc.signalCode !== null) return;
  running.kill('SIGTERM');
  const done = await Promise.race([running.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), timeoutMs))]);
  if (!done) {
    running.kill('SIGKILL');
    await running.exited;
  }
}

/** Worker processes still alive for a fleet: their WORKER_NAME is in the environment, not argv. */
export async function workerPidsOf(hostname: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = await readFile(`/proc/${entry}/environ`, 'utf8');
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (environ.includes(`WORKER_NAME=worker-${hostname}-`) && !/\) Z /.test(stat)) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

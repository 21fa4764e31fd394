import type { ChildProcess } from 'node:child_process';
import { loadConfig } from '../config/config.js';
import { workerName } from '../registry/keys.js';
import { WAIT_FOR_GO } from '../ipc.js';
import { forkWorker } from './fork-worker.js';

/**
 * The first workers, forked by the entrypoint before it loads the supervisor's own modules, so
 * that the two start-ups (each a few hundred ms of loading code) overlap instead of following
 * each other. A pre-forked worker loads its modules and then waits for the supervisor's `go`
 * (worker-process.ts) before it touches Redis: the supervisor's pre-flight, health port and
 * stale clean-up still all come first, and a supervisor that fails before it starts its
 * workers kills the waiting ones (discardPreforked), which hold nothing.
 *
 * Module state on purpose: the entrypoint forks, the worker service (loaded afterwards) takes.
 */
const waiting = new Map<number, ChildProcess>();

/**
 * Forks WORKER_COUNT workers in waiting. A configuration that does not load forks nothing:
 * the worker service reports it as before.
 */
export function preforkWorkers(): void {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch {
    return;
  }
  for (let index = 1; index <= config.workerCount; index += 1) {
    const child = forkWorker(workerName(config.hostname, index), index, { [WAIT_FOR_GO]: '1' });
    child.on('error', () => {}); // a fork that failed is simply not taken
    waiting.set(index, child);
  }
  process.once('exit', discardPreforked);
}

/**
 * The waiting worker for slot `index`, if one was forked and is still alive. Its name is the
 * slot's: both come from the same environment (WORKER_COUNT, BOUY_HOSTNAME) by workerName().
 */
export function takePreforked(index: number): ChildProcess | undefined {
  const child = waiting.get(index);
  waiting.delete(index);
  if (!child) return undefined;
  if (child.exitCode === null && child.signalCode === null && child.connected) return child;
  child.kill('SIGKILL'); // died while waiting: the supervisor forks anew
  return undefined;
}

/** Kills every worker still waiting (nothing to release: none has registered or connected). */
export function discardPreforked(): void {
  for (const child of waiting.values()) child.kill('SIGKILL');
  waiting.clear();
}

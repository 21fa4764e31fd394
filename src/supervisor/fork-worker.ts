import { fork, type ChildProcess } from 'node:child_process';
import { WORKER_ENTRY } from '../worker/worker-entry.js';

/**
 * Forks one worker process for slot `index` named `name`: the one place its environment and
 * stdio are written, for the supervisor's forks and for the pre-forked first ones (prefork.ts).
 * No node options (execArgv []), so the supervisor's V8 flags never reach a worker.
 */
export function forkWorker(name: string, index: number, extraEnv: Record<string, string> = {}): ChildProcess {
  return fork(WORKER_ENTRY, [], {
    env: { ...process.env, WORKER_NAME: name, WORKER_INDEX: String(index), BOUY_SUPERVISOR_PID: String(process.pid), ...extraEnv },
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
}

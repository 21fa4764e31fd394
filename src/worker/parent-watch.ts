import { Worker as Thread } from 'node:worker_threads';
import { supervisorPid } from './supervisor-pid.js';

/**
 * The last line of "no worker outlives its supervisor". A worker notices its supervisor's death
 * by the IPC disconnect and hands its jobs back — on its event loop. A worker whose event loop is
 * stuck (a poison job's synchronous loop: the very case the supervisor's hang watchdog exists
 * for) never sees the disconnect, and with the supervisor gone nothing kills it: it spun for
 * hours, orphaned, holding its job's lock until that expired. This thread has its own event
 * loop: once the parent has been gone for `graceMs` (the main thread's own hand-back had its
 * chance), it SIGKILLs the process. Its jobs then go back through the registry like any dead
 * worker's (stale clean-up, or a surviving supervisor's dead-peer reclaim).
 */
const WATCH = `
const { workerData } = require('node:worker_threads');
let goneSince;
setInterval(() => {
  if (process.ppid === workerData.parent) return;
  goneSince ??= Date.now();
  if (Date.now() - goneSince >= workerData.graceMs) process.kill(workerData.pid, 'SIGKILL');
}, 250);
`;

export function killWhenOrphaned(graceMs: number): void {
  const thread = new Thread(WATCH, { eval: true, workerData: { parent: supervisorPid(), pid: process.pid, graceMs } });
  thread.unref(); // never what keeps the process alive
}

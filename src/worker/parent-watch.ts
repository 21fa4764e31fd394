import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Worker as Thread } from 'node:worker_threads';
import { supervisorPid } from './supervisor-pid.js';

/**
 * The last line of "no worker outlives its supervisor". A worker notices its supervisor's death
 * by the IPC disconnect and hands its jobs back — on its event loop. A worker whose event loop is
 * stuck (a poison job's synchronous loop: the very case the supervisor's hang watchdog exists
 * for) never sees the disconnect, and with the supervisor gone nothing kills it: it spun for
 * hours, orphaned, holding its job's lock until that expired. So something outside the event
 * loop watches: once the parent has been gone for `graceMs` (the main thread's own hand-back had
 * its chance), it SIGKILLs the process. Its jobs then go back through the registry like any dead
 * worker's (stale clean-up, or a surviving supervisor's dead-peer reclaim).
 *
 * The watcher is a bash process of bash builtins only (no fork a tick): about 3.5 MiB of RSS,
 * most of it bash's shared pages, where a worker thread (a V8 isolate and a Node environment of
 * its own) cost the worker 10 MiB and 50-60 ms of CPU at start. Without bash or /proc it is
 * that thread, as before.
 */
const BASH = '/bin/bash';

/**
 * $1 the parent's pid, $2 the worker's, $3 the grace in ms. Its stdin is a pipe only the worker
 * holds (Node's descriptors are close-on-exec): end of file is the worker gone, however it died,
 * and the watcher ends with it. The worker's start time (field 22 of its stat) is checked before
 * the kill, so a pid used again is never killed. Group signals (Ctrl-C, HUP, Ctrl-Z, a group
 * TERM) mean nothing here: the watcher goes when its worker does.
 */
const WATCH_SH = `
trap '' INT HUP QUIT TSTP TERM
read -r line < /proc/$2/stat || exit 0
read -r -a f <<< "\${line##*) }"
started=\${f[19]}
gone=0
while :; do
  read -r -t 0.25 _
  [ $? -eq 1 ] && exit 0
  read -r line < /proc/$2/stat || exit 0
  read -r -a f <<< "\${line##*) }"
  [ "\${f[19]}" = "$started" ] || exit 0
  if [ "\${f[1]}" = "$1" ]; then gone=0; continue; fi
  gone=$((gone + 250))
  [ $gone -ge $3 ] && exec kill -KILL $2
done
`;

const WATCH_JS = `
const { workerData } = require('node:worker_threads');
let goneSince;
setInterval(() => {
  if (process.ppid === workerData.parent) return;
  goneSince ??= Date.now();
  if (Date.now() - goneSince >= workerData.graceMs) process.kill(workerData.pid, 'SIGKILL');
}, 250);
`;

function watchWithThread(parent: number, graceMs: number): void {
  const thread = new Thread(WATCH_JS, { eval: true, workerData: { parent, pid: process.pid, graceMs } });
  thread.unref(); // never what keeps the process alive
  // A thread that fails (out of memory, say) must not take the worker down with it.
  thread.on('error', () => {});
}

export function killWhenOrphaned(graceMs: number): void {
  const parent = supervisorPid();
  if (!existsSync(BASH) || !existsSync(`/proc/${process.pid}/stat`)) {
    watchWithThread(parent, graceMs);
    return;
  }
  const watcher = spawn(BASH, ['-c', WATCH_SH, 'bouy-parent-watch', String(parent), String(process.pid), String(Math.ceil(graceMs))], {
    stdio: ['pipe', 'ignore', 'ignore'],
    env: {}, // nothing of the worker's: not taken for a worker by what reads /proc/<pid>/environ
  });
  // A watcher that could not start, or died while the worker lives on: the thread takes over.
  let replaced = false;
  const replace = () => {
    if (replaced) return;
    replaced = true;
    watchWithThread(parent, graceMs);
  };
  watcher.once('error', replace);
  watcher.once('exit', replace);
  watcher.stdin?.on('error', () => {});
  // Neither the process nor its pipe keeps the worker alive.
  watcher.unref();
  (watcher.stdin as unknown as { unref?: () => void } | null)?.unref?.();
}

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process with this pid exists here (a zombie counts: it is reaped, not running). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** State letter and parent pid from /proc/<pid>/stat; undefined where there is no /proc or no such process. */
function stat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces and parentheses: fields follow the last ')'.
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/**
 * A bouy worker process still running here whose supervisor is gone: it was forked by
 * `supervisorPid`, and its parent is now someone else (init, tini, a subreaper). Its
 * supervisor was SIGKILLed and the worker outlived it; it will kill itself within seconds
 * (worker/parent-watch.ts), but a supervisor starting now must not wait for that, nor leave
 * its registration for a new worker of the same name to replace. The command line is checked
 * too, so a recycled pid is never taken for a worker. False where /proc cannot tell.
 */
export function isOrphanedWorker(pid: number, supervisorPid: number): boolean {
  if (!Number.isInteger(supervisorPid) || supervisorPid <= 0) return false;
  const info = stat(pid);
  if (!info || info.state === 'Z' || info.ppid === supervisorPid) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker-process');
  } catch {
    return false;
  }
}

/** SIGKILLs `pid` and waits (up to `timeoutMs`) until it no longer runs; true once it is gone. */
export async function killAndWait(pid: number, timeoutMs = 2000): Promise<boolean> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return true; // already gone
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = stat(pid);
    if (!isAlive(pid) || info?.state === 'Z' || info?.state === 'X') return true;
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

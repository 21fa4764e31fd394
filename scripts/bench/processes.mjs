// Child processes of a bench or chaos run: spawned with their JSON log lines captured, and
// killed if the script itself dies, so no run leaves workers behind on a shared machine.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import readline from 'node:readline';
import { waitFor } from './wait.mjs';

const live = new Set();
process.once('exit', () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Spawns `command args` with `env` over a minimal environment; collects stdout JSON lines. */
export function start(command, args, env, { keepLines = true, detached = false, onLine } = {}) {
  const startedAt = performance.now();
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // detached: a process group of its own, killed whole like a container (kill(-pid)).
    detached,
  });
  live.add(child);
  const lines = [];
  const stderr = [];
  const watchers = new Set();
  readline.createInterface({ input: child.stdout }).on('line', (text) => {
    let line;
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    line.receivedAt = performance.now();
    if (keepLines) lines.push(line);
    onLine?.(line);
    for (const watch of watchers) watch(line);
  });
  readline.createInterface({ input: child.stderr }).on('line', (text) => stderr.push(text));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    live.delete(child);
    resolve({ code, signal, at: performance.now() });
  }));
  return {
    child,
    pid: child.pid,
    startedAt,
    lines,
    stderr,
    exited,
    get running() { return child.exitCode === null && child.signalCode === null; },
    /** Resolves with the first line (already seen or still to come) matching `predicate`. */
    waitForLine(predicate, what, timeoutMs = 60_000) {
      const seen = lines.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(watch);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${stderr.slice(-5).join(' | ')}`));
        }, timeoutMs);
        const watch = (line) => {
          if (!predicate(line)) return;
          clearTimeout(timer);
          watchers.delete(watch);
          resolve(line);
        };
        watchers.add(watch);
      });
    },
    kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    /** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Resident set size of a process in MiB, from /proc (undefined if it is gone). */
export function rssMb(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * User + system CPU seconds a process has used so far, from /proc/<pid>/stat (utime, stime in
 * clock ticks, 100 a second on Linux): what the process itself cost, whatever else the
 * machine was doing meanwhile. Undefined once it is gone.
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of each thread of a process so far, by thread id, with the thread's name
 * (/proc/<pid>/task/<tid>/comm: `node` for the main thread, whose id is the pid, and V8's
 * helpers; `v8:ProfEvntProc` is the CPU profiler's own). Empty once the process is gone.
 */
export function threadCpuSeconds(pid) {
  const threads = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const seconds = cpuSeconds(`${pid}/task/${tid}`); // a thread's stat reads as a process's
      if (seconds !== undefined) threads.set(Number(tid), { name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(), seconds });
    }
  } catch {
    // gone meanwhile: what was read so far
  }
  return threads;
}

/** Pids of the direct children of `pid`, from /proc. */
export function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Pids of every descendant of `pid` (children, theirs, …), from /proc. */
export function descendantPids(pid) {
  const found = [];
  for (let next = childPids(pid); next.length > 0; next = next.flatMap(childPids)) found.push(...next);
  return found;
}

/**
 * RSS of `pid` with every process it started (a bouy worker's parent watch, a processor's own
 * children), in MiB: what one worker costs, whatever it is made of. Undefined if it is gone.
 */
export function treeRssMb(pid) {
  const own = rssMb(pid);
  return own === undefined ? undefined : descendantPids(pid).reduce((sum, child) => sum + (rssMb(child) ?? 0), own);
}

export { waitFor };

/**
 * Proportional set size of a process in MiB, from /proc/<pid>/smaps_rollup: its private pages
 * plus its share of every page it maps together with other processes (Node's binary and
 * libraries, mapped by every Node process of the machine, split between them). Summed over a
 * container's processes it is close to what the container's memory accounting charges, where
 * RSS counts each shared page once per process. Undefined if it is gone.
 */
export function pssMb(pid) {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

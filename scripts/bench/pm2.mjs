// Launches the peer: PM2 running the plain worker script in N instances, in the foreground
// with `pm2-runtime` as a container would, with a PM2_HOME of its own so a developer's PM2
// daemon is never touched.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './bouy.mjs';
import { start } from './processes.mjs';

export const PLAIN_WORKER = path.join(ROOT, 'scripts', 'bench', 'plain-worker.mjs');
const PM2_RUNTIME = path.join(ROOT, 'node_modules', 'pm2', 'bin', 'pm2-runtime');

export function startPm2(instances, env) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'bouy-bench-pm2-'));
  const file = path.join(home, 'ecosystem.json');
  writeFileSync(file, JSON.stringify({
    apps: [{ name: 'plain-worker', script: PLAIN_WORKER, instances, exec_mode: 'fork', autorestart: true, env }],
  }));
  const proc = start(process.execPath, [PM2_RUNTIME, 'start', file], { PM2_HOME: home, ...env });
  const stop = proc.stop;
  proc.stop = async (graceMs) => {
    const result = await stop(graceMs);
    rmSync(home, { recursive: true, force: true });
    return result;
  };
  return proc;
}

/** One plain BullMQ worker process, no manager at all. */
export function startPlain(env) {
  return start(process.execPath, [PLAIN_WORKER], env);
}

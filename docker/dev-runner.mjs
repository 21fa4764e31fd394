#!/usr/bin/env node
// Development runner (compose/dev.yml, the image's `dev` target): src/ is mounted from the host.
// Compiles once, starts the service, and on a change under src/ compiles again and restarts the
// service — nothing else. Why not `tsc --watch` + `node --watch-path=dist`: the watcher held
// ~555 MB in every container, and its first pass rewrote dist/ right after start, so the
// service restarted ~4 s after every `up` (start-up logged twice, /health 503 just after
// "healthy"). A one-shot compile runs only when a file changed.
import { spawn, spawnSync } from 'node:child_process';
import { watch } from 'node:fs';

const SERVICE = ['dist/entrypoint.js', ...process.argv.slice(2)];
const SRC = 'src';
const BUILD_INFO = '/tmp/bouy-dev.tsbuildinfo';
/** Editors write a file in bursts (temp file, rename, chmod): one rebuild per burst. */
const SETTLE_MS = 150;
/**
 * Signals meant for the supervisor. `./bouy resize/recycle/quiet` signal PID 1's child, which is
 * this runner: pass them on. SIGTERM/SIGINT stop the service, then the runner with its status.
 */
const FORWARDED = ['SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGTSTP', 'SIGUSR1', 'SIGUSR2'];

const say = (msg) => process.stderr.write(`${JSON.stringify({ level: 30, time: new Date().toISOString(), name: 'bouy-dev', msg })}\n`);

function compile() {
  const started = Date.now();
  // Incremental: after the first build a change costs about half a CPU second, not six.
  const result = spawnSync('./node_modules/.bin/tsc', ['-p', 'tsconfig.build.json', '--incremental', '--tsBuildInfoFile', BUILD_INFO], { stdio: ['ignore', 2, 2] });
  if (result.status === 0) say(`compiled in ${Date.now() - started} ms`);
  return result.status === 0;
}

let child;
let stopping = false;
let restarting = false;

function start() {
  child = spawn(process.execPath, SERVICE, { stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    child = undefined;
    if (restarting) return;
    // The service ended on its own (or was told to stop): so does the container.
    process.exit(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15));
  });
}

function restart() {
  if (stopping) return;
  if (!compile()) {
    say('compile failed: the running service keeps the previous build');
    return;
  }
  if (restarting) return; // the service is on its way out: the new build starts after it
  if (!child) return start();
  restarting = true;
  say('source changed: restarting the service (it drains first)');
  child.once('exit', () => {
    restarting = false;
    if (!stopping) start();
    else process.exit(0);
  });
  child.kill('SIGTERM');
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    stopping = true;
    if (child) child.kill(signal);
    else process.exit(0);
  });
}
for (const signal of FORWARDED) process.on(signal, () => child?.kill(signal));

if (!compile()) process.exit(1);
start();
let timer;
watch(SRC, { recursive: true }, () => {
  clearTimeout(timer);
  timer = setTimeout(restart, SETTLE_MS);
});

#!/usr/bin/env node
// Sizing figures for the README: memory (PSS, from /proc/<pid>/smaps_rollup: shared pages split
// between the processes that map them, close to what a container's memory accounting charges)
// per worker process and per concurrency slot, and jobs/s per process for I/O-bound jobs (a
// 50 ms wait) and CPU-bound ones (20 ms of busy loop). Needs dist/ (npm run build) and
// redis-server. Usage: node scripts/sizing.mjs
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'package.json'));
const { Redis } = require('ioredis');
const { Queue } = require('bullmq');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const freePort = () => new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});
const childrenOf = (pid) => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const pssMiB = (pid) => {
  const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
};
const round = (n, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function run(redisUrl, dir, { workers, concurrency, kind, jobs }) {
  const queueName = `sizing-${workers}-${concurrency}-${kind}-${Date.now()}`;
  const supervisor = spawn(process.execPath, [path.join(ROOT, 'dist/bundle/entrypoint.js'), 'worker'], {
    stdio: 'ignore',
    env: {
      ...process.env, REDIS_URL: redisUrl, QUEUE_NAME: queueName, PROCESSOR: path.join(dir, 'processor.mjs'), WORKER_COUNT: String(workers),
      WORKER_CONCURRENCY: String(concurrency), HEALTH_SERVER: 'false', LOG_LEVEL: 'warn', BOUY_HOSTNAME: `sizing-${process.pid}`,
    },
  });
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection });
  try {
    while (childrenOf(supervisor.pid).length < workers) await sleep(100);
    await sleep(4000); // loaded and connected
    const pids = childrenOf(supervisor.pid);
    const idle = pids.reduce((sum, pid) => sum + pssMiB(pid), 0) / pids.length;
    const at = Date.now();
    await queue.addBulk(Array.from({ length: jobs }, () => ({ name: kind, data: { kind } })));
    let busy = 0;
    for (;;) {
      const { completed = 0 } = await queue.getJobCounts('completed');
      if (busy === 0 && completed > jobs / 2) busy = pids.reduce((sum, pid) => sum + pssMiB(pid), 0) / pids.length;
      if (completed >= jobs) break;
      await sleep(50);
    }
    const seconds = (Date.now() - at) / 1000;
    return { workers, concurrency, kind, jobs, supervisor_pss_mib: round(pssMiB(supervisor.pid)), worker_pss_idle_mib: round(idle), worker_pss_draining_mib: round(busy), jobs_per_s: round(jobs / seconds, 0), jobs_per_s_per_process: round(jobs / seconds / workers, 0) };
  } finally {
    supervisor.kill('SIGTERM');
    await new Promise((resolve) => supervisor.once('exit', resolve));
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
  }
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sizing-'));
  writeFileSync(path.join(dir, 'processor.mjs'), `export default async function (job) {
  if (job.data.kind === 'io') return new Promise((resolve) => setTimeout(resolve, 50));
  const until = performance.now() + 20;
  while (performance.now() < until); // CPU-bound: 20 ms of work
}
`);
  const port = await freePort();
  const redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  await sleep(300);
  const redisUrl = `redis://127.0.0.1:${port}`;
  const rows = [];
  try {
    for (const shape of [
      { workers: 1, concurrency: 1, kind: 'io', jobs: 200 },
      { workers: 1, concurrency: 16, kind: 'io', jobs: 2000 },
      { workers: 4, concurrency: 1, kind: 'io', jobs: 800 },
      { workers: 1, concurrency: 1, kind: 'cpu', jobs: 300 },
      { workers: 1, concurrency: 16, kind: 'cpu', jobs: 300 },
      { workers: 2, concurrency: 1, kind: 'cpu', jobs: 600 },
    ]) rows.push(await run(redisUrl, dir, shape));
  } finally {
    redisServer.kill('SIGTERM');
  }
  console.log(`load average: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores), node ${process.version}`);
  console.table(rows);
}

await main();

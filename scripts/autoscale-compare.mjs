#!/usr/bin/env node
// Autoscaling inside one container: bouy's WORKER_COUNT=2-8 against Celery's --autoscale=8,2,
// the same burst for both (JOBS jobs of JOB_MS each, one job per process at a time) on a
// private redis-server. Prints, per contestant: seconds from the burst to full capacity (8
// jobs running at once, from the jobs' own start/end records), seconds from the last job's end
// back to 2 processes (children of the main process, polled), jobs lost and run twice.
// Both quiet windows are QUIET_S (bouy AUTOSCALE_QUIET_SECONDS, Celery AUTOSCALE_KEEPALIVE);
// both look every second. Needs dist/ (npm run build), redis-server and Debian's
// python3-celery + python3-redis (/usr/bin/python3). Usage: node scripts/autoscale-compare.mjs
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'package.json'));
const { Redis } = require('ioredis');
const { Queue } = require('bullmq');

const JOBS = Number(process.env.JOBS ?? 200);
const JOB_MS = Number(process.env.JOB_MS ?? 500);
const QUIET_S = Number(process.env.QUIET_S ?? 5);
const MIN = 2;
const MAX = 8;
const PYTHON = '/usr/bin/python3';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const freePort = () => new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});
const children = (pid) => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};
async function until(condition, what, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The first moment `MAX` recorded jobs ran at once (ms epoch), by a sweep over their spans. */
function fullCapacityAt(records) {
  const edges = records.flatMap((r) => [[r.s, 1], [r.e, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  for (const [at, change] of edges) {
    running += change;
    if (running >= MAX) return at;
  }
  return undefined;
}

async function measure(name, redisUrl, recordKey, start, enqueue) {
  const redis = new Redis(redisUrl);
  const main = start();
  const exited = new Promise((resolve) => main.once('exit', resolve));
  try {
    await until(() => children(main.pid) >= MIN, `${name}: ${MIN} processes`);
    await sleep(3000); // both settle (imports, broker connections) before the burst
    const burstAt = await enqueue();
    let most = 0;
    const records = await until(async () => {
      most = Math.max(most, children(main.pid));
      const list = await redis.lrange(recordKey, 0, -1);
      return list.length >= JOBS && list.map((s) => JSON.parse(s));
    }, `${name}: ${JOBS} jobs done`, 300_000);
    const lastEnd = Math.max(...records.map((r) => r.e));
    await until(() => children(main.pid) <= MIN, `${name}: back to ${MIN} processes`, 600_000);
    const backAt = Date.now();
    const full = fullCapacityAt(records);
    const ids = new Set(records.map((r) => String(r.id)));
    return {
      contestant: name,
      to_full_capacity_s: full === undefined ? null : Math.round((full - burstAt) / 100) / 10,
      back_to_min_s: Math.round((backAt - lastEnd) / 100) / 10,
      most_processes: most,
      jobs_lost: JOBS - ids.size,
      ran_twice: records.length - ids.size,
    };
  } finally {
    main.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (main.exitCode === null && main.signalCode === null) main.kill('SIGKILL');
    redis.disconnect();
  }
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'autoscale-compare-'));
  const port = await freePort();
  const redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const redisUrl = `redis://127.0.0.1:${port}`;
  await sleep(300);
  const results = [];
  try {
    // bouy: the recording processor sleeps JOB_MS, then pushes its span.
    const processor = path.join(dir, 'processor.mjs');
    writeFileSync(processor, `import { createRequire } from 'node:module';
const { Redis } = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))})('ioredis');
const redis = new Redis(${JSON.stringify(redisUrl)});
export default async function (job) {
  const s = Date.now();
  await new Promise((resolve) => setTimeout(resolve, job.data.ms));
  await redis.rpush('rec:bouy', JSON.stringify({ id: job.id, pid: process.pid, s, e: Date.now() }));
}
`);
    results.push(await measure('bouy WORKER_COUNT=2-8', redisUrl, 'rec:bouy', () => spawn(process.execPath, [path.join(ROOT, 'dist/bundle/entrypoint.js'), 'worker'], {
      stdio: 'ignore',
      env: {
        ...process.env, REDIS_URL: redisUrl, QUEUE_NAME: 'autoscale', PROCESSOR: processor, WORKER_COUNT: `${MIN}-${MAX}`, WORKER_CONCURRENCY: '1',
        AUTOSCALE_INTERVAL_SECONDS: '1', AUTOSCALE_QUIET_SECONDS: String(QUIET_S), HEALTH_SERVER: 'false', LOG_LEVEL: 'warn', BOUY_HOSTNAME: 'autoscale-compare',
      },
    }), async () => {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const queue = new Queue('autoscale', { connection });
      const at = Date.now();
      await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'sleep', data: { ms: JOB_MS }, opts: { jobId: `j${i}` } })));
      await queue.close();
      connection.disconnect(); // a connection passed in is the caller's to close
      return at;
    }));

    // Celery: prefork pool, one task per process at a time (prefetch 1, acks late: the fairest
    // setting for a burst, and the one that loses nothing when a process goes).
    writeFileSync(path.join(dir, 'tasks.py'), `import json, os, time
import redis
from celery import Celery
app = Celery('tasks', broker=${JSON.stringify(redisUrl)})
app.conf.worker_prefetch_multiplier = 1
app.conf.task_acks_late = True
app.conf.broker_connection_retry_on_startup = True
rec = redis.Redis.from_url(${JSON.stringify(redisUrl)})
@app.task(name='sleep')
def sleep(i, ms):
    s = time.time() * 1000
    time.sleep(ms / 1000)
    rec.rpush('rec:celery', json.dumps({'id': i, 'pid': os.getpid(), 's': s, 'e': time.time() * 1000}))
`);
    writeFileSync(path.join(dir, 'enqueue.py'), `import sys, time
from tasks import sleep
at = time.time() * 1000
for i in range(${JOBS}):
    sleep.delay(i, ${JOB_MS})
print(int(at))
`);
    results.push(await measure('Celery --autoscale=8,2', redisUrl, 'rec:celery', () => spawn(PYTHON, ['-m', 'celery', '-A', 'tasks', 'worker', `--autoscale=${MAX},${MIN}`, '--pool=prefork', '--without-gossip', '--without-mingle', '--without-heartbeat', '--loglevel=WARNING'], {
      cwd: dir, stdio: 'ignore', env: { ...process.env, AUTOSCALE_KEEPALIVE: String(QUIET_S), PYTHONPATH: dir },
    }), async () => Number(execFileSync(PYTHON, ['enqueue.py'], { cwd: dir, encoding: 'utf8', env: { ...process.env, PYTHONPATH: dir } }).trim())));
  } finally {
    redisServer.kill('SIGTERM');
  }
  console.log(`autoscaling ${MIN}→${MAX}: ${JOBS} jobs × ${JOB_MS} ms, one job per process, quiet window ${QUIET_S} s, checks every 1 s`);
  console.log(`load average: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores)`);
  console.table(results);
}

await main();

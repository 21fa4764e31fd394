// A redis-server of the script's own on a free loopback port in a temporary directory, so a
// benchmark or chaos run never touches (let alone flushes) a server it did not start.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.mjs';
import { waitFor } from './wait.mjs';

/**
 * `aof: true` persists as a production Redis for bouy must (every write fsynced, no eviction),
 * so a restart loses nothing; `aof: false` keeps throughput figures about the workers, not fsync.
 */
export async function startRedis({ aof = false } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-bench-redis-'));
  const persistence = aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  let proc;

  const start = async () => {
    proc = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--maxmemory-policy', 'noeviction', ...persistence,
    ], { stdio: 'ignore' });
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await waitFor(async () => {
        if (probe.status !== 'ready') await probe.connect().catch(() => probe.disconnect());
        return (await probe.ping()) === 'PONG';
      }, `redis-server on port ${port}`, 15_000);
    } finally {
      probe.disconnect();
    }
  };
  const stop = async (signal = 'SIGTERM') => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise((resolve) => {
      p.once('exit', resolve);
      p.kill(signal);
    });
  };

  await start();
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null });
  client.on('error', () => {});
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client,
    start,
    stop,
    get pid() { return proc?.pid; },
    async close() {
      client.disconnect();
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

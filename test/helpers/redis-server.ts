import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { RedisTarget } from '../../src/config/config.js';
import { freePort } from './free-port.js';
import { waitFor } from './wait.js';

export interface RedisServer {
  port: number;
  url: string;
  /** What points a bouy process at it. */
  env: { REDIS_URL: string };
  /** The same Redis as bouy's configuration describes it, for `connect()`. */
  target: RedisTarget;
  client: Redis;
  /** Stops the server (SIGTERM) and keeps its data directory for `start()`. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data (AOF). */
  start(): Promise<void>;
  /** Sends the server process a signal: SIGSTOP pauses it (no answer, no reset), SIGCONT resumes. */
  signal(signal: NodeJS.Signals): void;
  close(): Promise<void>;
}

/**
 * A real redis-server of this test file's own, on a free port, in a temporary directory,
 * persisting with AOF so a restart keeps the queue (as production Redis must).
 */
export async function startRedis(): Promise<RedisServer> {
  // freePort's port is free when asked, not necessarily when redis-server binds it: a server
  // that exits at once (port taken meanwhile) is started again on another one.
  let port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-redis-'));
  let proc: ChildProcess | undefined;

  const launch = async () => {
    proc = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction',
    ], { stdio: 'ignore' });
    const launched = proc;
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    const outcome = await waitFor(async () => {
      if (launched.exitCode !== null) return 'exited';
      try {
        if (probe.status !== 'ready') await probe.connect();
        return (await probe.ping()) === 'PONG' && 'up';
      } catch {
        probe.disconnect();
        return false;
      }
    }, `redis-server on port ${port}`, 10_000);
    probe.disconnect();
    if (outcome === 'exited') throw new ExitedAtStart(`redis-server exited at start on port ${port}`);
  };
  const halt = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  };

  for (let attempt = 1; ; attempt += 1) {
    try {
      await launch();
      break;
    } catch (error) {
      if (!(error instanceof ExitedAtStart) || attempt === 5) throw error;
      port = await freePort();
    }
  }
  const client = new Redis({ port, maxRetriesPerRequest: null });
  client.on('error', () => {});
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    env: { REDIS_URL: `redis://127.0.0.1:${port}` },
    target: { kind: 'url', url: `redis://127.0.0.1:${port}`, auth: { username: undefined, password: undefined } },
    client,
    stop: halt,
    start: launch,
    signal(signal) { proc?.kill(signal); },
    async close() {
      client.disconnect();
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** redis-server exited before answering: its port was taken after freePort looked. */
class ExitedAtStart extends Error {
  override name = 'ExitedAtStart';
}

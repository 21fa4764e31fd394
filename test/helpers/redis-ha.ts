import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig, type RedisTarget } from '../../src/config/config.js';
import { connect, type RedisClient } from '../../src/redis.js';
import { freePort, isFree } from './free-port.js';
import { waitFor } from './wait.js';

/** A highly available Redis the test started: what bouy is pointed at, and a client for the test. */
export interface RedisHa {
  /** Variables that point a bouy process at it (REDIS_SENTINELS… or REDIS_CLUSTER_NODES). */
  env: Record<string, string>;
  /** As bouy's configuration reads `env`. */
  target: RedisTarget;
  /** BullMQ prefix bouy uses there by default. */
  bullPrefix: string;
  /** A connection through the same machinery as bouy's (`connect(target)`). */
  client: RedisClient;
  close(): Promise<void>;
}

interface Proc { proc: ChildProcess; port: number }

function launch(command: string, args: string[]): ChildProcess {
  const proc = spawn(command, args, { stdio: 'ignore' });
  proc.on('error', () => {});
  return proc;
}

/** A plain connection to one process, answered or not within the wait. */
async function answers(port: number, check: (r: Redis) => Promise<boolean> = async (r) => (await r.ping()) === 'PONG'): Promise<boolean> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return await check(probe);
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** SIGKILLs the processes and removes their directory: nothing of a test's Redis outlives it. */
async function remove(procs: Proc[], dir: string): Promise<void> {
  await halt(procs);
  rmSync(dir, { recursive: true, force: true });
}

async function halt(procs: Proc[]): Promise<void> {
  await Promise.all(procs.map(({ proc }) => new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  })));
}

/**
 * Starts an HA set in a directory of its own: `build` launches its processes into `procs`. If it
 * throws, they and the directory go; otherwise the set's close() disconnects its client and
 * removes them.
 */
async function ownedSet<T extends { client: RedisClient }>(prefix: string, build: (dir: string, procs: Proc[]) => Promise<T>): Promise<T & { close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const procs: Proc[] = [];
  try {
    const set = await build(dir, procs);
    return {
      ...set,
      async close() {
        set.client.disconnect();
        await remove(procs, dir);
      },
    };
  } catch (error) {
    await remove(procs, dir);
    throw error;
  }
}

const DURABLE = ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction'];

export interface SentinelSet extends RedisHa {
  name: string;
  /** Port of the master the sentinels name now. */
  masterPort(): Promise<number>;
  /**
   * SENTINEL FAILOVER, then waits until the sentinels name the other server and it answers as
   * master. Resolves with the new master's port.
   */
  failover(): Promise<number>;
}

/**
 * One master, one replica (`--replicaof`) and three `redis-sentinel` processes (quorum 2),
 * each with a writable config file of its own in a temp dir, all on loopback ports.
 */
export function startSentinels(name = 'mymaster'): Promise<SentinelSet> {
  return ownedSet('bouy-sentinel-', async (dir, procs) => {
    const masterPort = await freePort();
    const replicaPort = await freePort();
    for (const [port, extra] of [[masterPort, []], [replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]]] as const) {
      const data = path.join(dir, `redis-${port}`);
      mkdirSync(data);
      // A master without a replica refuses writes: the old master stops accepting them the
      // moment its replica leaves to be promoted, so nothing is acknowledged that the new one lacks.
      const safe = ['--min-replicas-to-write', '1', '--min-replicas-max-lag', '10'];
      procs.push({ port, proc: launch('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', data, ...DURABLE, ...safe, ...extra]) });
    }
    await waitFor(() => answers(replicaPort, async (r) => /master_link_status:up/.test(await r.info('replication'))), 'replica in sync', 15_000);
    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const port = await freePort();
      const file = path.join(dir, `sentinel-${port}.conf`);
      writeFileSync(file, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
        'sentinel resolve-hostnames no', 'sentinel announce-ip 127.0.0.1',
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} 2000`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`, '',
      ].join('\n'));
      procs.push({ port, proc: launch('redis-sentinel', [file]) });
      sentinelPorts.push(port);
    }
    // Every sentinel knows the replica and the other two sentinels: only then can they agree on a failover.
    await waitFor(async () => (await Promise.all(sentinelPorts.map((port) => answers(port, async (r) => {
      const replicas = (await r.call('SENTINEL', 'REPLICAS', name)) as unknown[];
      const peers = (await r.call('SENTINEL', 'SENTINELS', name)) as unknown[];
      return replicas.length === 1 && peers.length === 2;
    })))).every(Boolean), 'sentinels that know the replica and each other', 30_000);

    const env = { REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','), REDIS_SENTINEL_NAME: name };
    const target = loadConfig(env, false).redis;
    const client = connect(target);
    client.on('error', () => {});
    const sentinel = sentinelPorts[0]!;
    const masterPortNow = async () => {
      let port = 0;
      await answers(sentinel, async (r) => {
        const [, p] = (await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
        port = Number(p);
        return true;
      });
      return port;
    };
    return {
      env, target, bullPrefix: 'bull', client, name,
      masterPort: masterPortNow,
      async failover() {
        const before = await masterPortNow();
        await answers(sentinel, async (r) => (await r.call('SENTINEL', 'FAILOVER', name)) === 'OK');
        const after = await waitFor(async () => {
          const now = await masterPortNow();
          return now !== before && now;
        }, 'the sentinels to name a new master', 30_000);
        await waitFor(() => answers(after, async (r) => /role:master/.test(await r.info('replication'))), 'the new master to answer as master', 15_000);
        return after;
      },
    };
  });
}

export interface RedisCluster extends RedisHa {
  ports: number[];
}

/** A port for a cluster node whose bus port (`cluster-port`) is free too. */
async function nodePorts(): Promise<[number, number]> {
  for (;;) {
    const port = await freePort();
    const bus = await freePort();
    if (bus !== port && (await isFree(port))) return [port, bus];
  }
}

/**
 * Three `redis-server --cluster-enabled yes` masters (no replicas) joined by
 * `redis-cli --cluster create … --cluster-yes`, ready when every node says cluster_state:ok.
 */
export function startCluster(size = 3): Promise<RedisCluster> {
  return ownedSet('bouy-cluster-', async (dir, procs) => {
    for (let i = 0; i < size; i += 1) {
      const [port, bus] = await nodePorts();
      const data = path.join(dir, `node-${port}`);
      mkdirSync(data);
      procs.push({ port, proc: launch('redis-server', [
        '--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1', '--dir', data,
        '--cluster-enabled', 'yes', '--cluster-config-file', path.join(data, 'nodes.conf'), '--cluster-node-timeout', '5000', ...DURABLE,
      ]) });
    }
    const ports = procs.map((p) => p.port);
    await waitFor(async () => (await Promise.all(ports.map((port) => answers(port)))).every(Boolean), 'cluster nodes up', 15_000);
    const create = launch('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    const code = await new Promise<number | null>((resolve) => create.once('exit', resolve));
    if (code !== 0) throw new Error(`redis-cli --cluster create exited ${code}`);
    await waitFor(async () => (await Promise.all(ports.map((port) => answers(port, async (r) => /cluster_state:ok/.test(String(await r.call('CLUSTER', 'INFO'))))))).every(Boolean), 'cluster_state:ok on every node', 30_000);

    const env = { REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(',') };
    const config = loadConfig(env, false);
    const client = connect(config.redis);
    client.on('error', () => {});
    return {
      env, target: config.redis, bullPrefix: config.bullPrefix, client, ports,
    };
  });
}

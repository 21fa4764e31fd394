import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { BouyError } from './errors.js';
import { describeRedis, type RedisTarget } from './config/config.js';
import { within } from './timeout.js';
import { SentinelConnectorEndingOnce } from './sentinel-connector.js';

/** A connection to whichever Redis the configuration names: one server (or a Sentinel master) or a cluster. */
export type RedisClient = Redis | Cluster;

/** TCP keepalive: the kernel probes an idle connection after this long and drops a dead one. */
export const REDIS_KEEPALIVE_MS = 10_000;

/**
 * A connection with a command written that receives nothing for this long is dead: destroyed
 * and reconnected, its unanswered commands sent again on the new one (ioredis's socketTimeout).
 * A path that silently drops packets (a NAT or load balancer timing out, a failover leaving
 * sockets dangling: no RST, no FIN) otherwise holds every command for ever while new
 * connections would work. Above BullMQ's longest blocking fetch (10 s, which its own
 * watchdog abandons 1 s later), so a worker waiting for a job is never mistaken for a dead one.
 */
export const REDIS_SOCKET_TIMEOUT_MS = 15_000;

/**
 * The socket timeout of a worker's registry connection (heartbeats, registration, hand-backs:
 * idempotent commands, no blocking one): 1.5 heartbeats, at least 1 s. A heartbeat held by a
 * dead connection must reach Redis on a new one before the registration looks stale (3
 * heartbeats): else peers take a half-open worker's running jobs and run them twice at once.
 */
export function registrySocketTimeoutMs(heartbeatSeconds: number): number {
  return Math.max(1000, heartbeatSeconds * 1500);
}

/**
 * A connection for bouy's own commands; see `connect`. Keepalive and the socket timeout on
 * every connection, BullMQ's too (it duplicates ours for its blocking fetches).
 */
const SERVICE_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: null, enableReadyCheck: true, keepAlive: REDIS_KEEPALIVE_MS, socketTimeout: REDIS_SOCKET_TIMEOUT_MS,
};

/**
 * During a failover the old master refuses writes: NOREPLICAS once its replica left to become
 * the new master (with `min-replicas-to-write 1`, see the README), READONLY once the sentinels
 * made it a replica. Reconnect (asking the sentinels again) and resend: a refused write was
 * not applied, so sending it again cannot apply it twice.
 */
const reconnectOnFailover = (error: Error) => (/^(READONLY|NOREPLICAS)/.test(error.message) ? 2 : false);

/** Options that belong to a Cluster itself; the rest go to each node's connection. */
const CLUSTER_LEVEL = ['lazyConnect', 'enableOfflineQueue', 'enableReadyCheck'] as const;

function clusterOptions(options: RedisOptions, target: Extract<RedisTarget, { kind: 'cluster' }>): ClusterOptions {
  const nodeOptions: RedisOptions = { ...options, username: target.auth.username, password: target.auth.password };
  const cluster: ClusterOptions = {};
  for (const key of CLUSTER_LEVEL) {
    if (key in nodeOptions) (cluster as Record<string, unknown>)[key] = nodeOptions[key];
    delete nodeOptions[key];
  }
  // A node's own retryStrategy is not used in a cluster: the cluster's decides.
  if ('retryStrategy' in nodeOptions) cluster.clusterRetryStrategy = nodeOptions.retryStrategy ?? null;
  delete nodeOptions.retryStrategy;
  return { ...cluster, redisOptions: nodeOptions };
}

/**
 * The one place connections are made, for every role and the CLI. `options` tune it (the
 * CLI's and the api's fail fast); by default `maxRetriesPerRequest: null`, what BullMQ needs
 * for its blocking connections, and for ours it means a command waits for Redis to come back
 * (or for the sentinels to name a new master) rather than failing the heartbeat.
 */
export function connect(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  const merged = { ...SERVICE_OPTIONS, ...options };
  switch (target.kind) {
    case 'url':
      // The URL's own user and password win; REDIS_USERNAME/REDIS_PASSWORD fill in what it leaves out.
      return new Redis(target.url, { ...merged, ...definedAuth(target.auth, target.url) });
    case 'sentinel':
      return new Redis({
        sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
        name: target.name,
        username: target.auth.username,
        password: target.auth.password,
        sentinelUsername: target.sentinelAuth.username,
        sentinelPassword: target.sentinelAuth.password,
        // Subscribes to the sentinels' +switch-master: reconnects at a failover instead of
        // waiting for the old master's socket to break.
        failoverDetector: true,
        reconnectOnError: reconnectOnFailover,
        // Kept by duplicate(), so BullMQ's blocking connections get it too.
        Connector: SentinelConnectorEndingOnce,
        ...merged,
      });
    case 'cluster':
      return new Cluster(target.nodes.map(({ host, port }) => ({ host, port })), clusterOptions(merged, target));
  }
}

/** A second connection like `client` (for a subscriber, say), to the same Redis or cluster. */
export function duplicate(client: RedisClient): RedisClient {
  return client instanceof Cluster ? client.duplicate() : client.duplicate();
}

/**
 * Sets a per-command deadline on a connection already made (and on the node connections a
 * cluster opens later).
 */
export function setCommandTimeout(client: RedisClient, timeoutMs: number): void {
  if (client instanceof Cluster) {
    client.options.redisOptions = { ...client.options.redisOptions, commandTimeout: timeoutMs };
    for (const node of client.nodes()) node.options.commandTimeout = timeoutMs;
  } else {
    client.options.commandTimeout = timeoutMs;
  }
}

function definedAuth(auth: { username: string | undefined; password: string | undefined }, url: string): RedisOptions {
  const parsed = new URL(url);
  return {
    ...(auth.username && !parsed.username ? { username: auth.username } : {}),
    ...(auth.password && !parsed.password ? { password: auth.password } : {}),
  };
}

/** Redis answered, but refused our credentials: a wrong password is not a missing server. */
export function isAuthError(error: unknown): boolean {
  return /\b(WRONGPASS|NOAUTH|NOPERM)\b|invalid (username-)?password/i.test((error as Error)?.message ?? '');
}

const AUTH_HINTS: Record<RedisTarget['kind'], string> = {
  url: 'check the password (and user) in REDIS_URL, e.g. redis://:PASSWORD@host:6379, or REDIS_PASSWORD (REDIS_USERNAME), against the server\'s requirepass / ACL',
  sentinel: 'check REDIS_PASSWORD (REDIS_USERNAME) against the master\'s and replicas\' requirepass / ACL, and REDIS_SENTINEL_PASSWORD against the sentinels\'',
  cluster: 'check REDIS_PASSWORD (REDIS_USERNAME) against the cluster nodes\' requirepass / ACL',
};

const UNREACHABLE_HINTS: Record<RedisTarget['kind'], string> = {
  url: 'start one (`./bouy up` starts the stack\'s Redis; locally: `redis-server --port 6379`) or set REDIS_URL',
  sentinel: 'check that the sentinels answer and monitor that master name (REDIS_SENTINEL_NAME), and the passwords',
  cluster: 'check that the cluster nodes answer and the cluster is formed (`redis-cli --cluster check`), and the passwords',
};

/** The error a person sees when Redis cannot be used: which Redis (passwords hidden), why, what to do. */
export function redisError(target: RedisTarget, error: unknown): BouyError {
  const where = describeRedis(target);
  if (isAuthError(error)) {
    return new BouyError('BOUY_ERR_REDIS_AUTH', `Redis at ${where} refused the credentials: ${(error as Error).message}`, {
      hint: AUTH_HINTS[target.kind],
      cause: error,
    });
  }
  return new BouyError('BOUY_ERR_REDIS_UNREACHABLE', `Redis is not reachable at ${where}: ${(error as Error).message}`, {
    hint: UNREACHABLE_HINTS[target.kind],
    cause: error,
  });
}

/**
 * Pre-flight: is Redis there? One short attempt, no retry loop, so a missing Redis fails the
 * start promptly (and the orchestrator's restart policy decides what happens next).
 */
export async function assertRedisReachable(target: RedisTarget, timeoutMs = 3000): Promise<void> {
  const client = connect(target, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    ...(target.kind === 'sentinel' ? { sentinelRetryStrategy: () => null } : {}),
  });
  let cause: Error | undefined;
  client.on('error', (error: Error) => {
    cause ??= error; // the reason (WRONGPASS, ECONNREFUSED) behind ioredis's "Connection is closed."
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw redisError(target, cause ?? error);
  } finally {
    client.disconnect();
  }
}

/** PING with a deadline, for readiness checks that must answer quickly. */
export function pingWithin(client: RedisClient, timeoutMs: number): Promise<boolean> {
  return within(client.ping().then((reply) => reply === 'PONG'), timeoutMs, false);
}

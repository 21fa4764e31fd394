import type { RedisOptions } from 'ioredis';
import { loadFleetSettings, type FleetSettings, type RedisTarget } from '../config/config.js';
import { BouyError } from '../errors.js';
import { connect, isAuthError, redisError, setCommandTimeout, type RedisClient } from '../redis.js';
import type { Context } from './context.js';
import { IN_STACK } from './inside-stack.js';

/** A URL the user gave the CLI replaces the services' Sentinel and Cluster settings. */
const NO_HA = {
  REDIS_SENTINELS: undefined, REDIS_SENTINEL_NAME: undefined, REDIS_SENTINEL_USERNAME: undefined,
  REDIS_SENTINEL_PASSWORD: undefined, REDIS_CLUSTER_NODES: undefined, REDIS_URL_DEFAULT: undefined,
};

/**
 * The fleet the CLI talks to, its Redis and key prefixes, validated as loadConfig does: the
 * Redis of --redis-url or BOUY_REDIS_URL when given; else the sentinels or cluster of
 * REDIS_SENTINELS / REDIS_CLUSTER_NODES (the services' own variables, from the environment or
 * .env); else the stack's own Redis through the loopback port the dev and test overlays
 * publish (found, not configured, so two stacks never fight over 6379). Undefined when that
 * Redis is private to the stack (prod): the caller runs itself inside the stack instead.
 */
export async function stackFleet(
  ctx: Context, explicit: string | undefined, overrides: { heartbeatSeconds?: number } = {},
): Promise<FleetSettings | undefined> {
  const given = explicit ?? ctx.env.BOUY_REDIS_URL;
  if (given) return loadFleetSettings({ ...ctx.env, ...NO_HA, REDIS_URL: given }, overrides);
  // Run inside a container of the stack (inside-stack.ts): the services' own Redis settings.
  if (ctx.env[IN_STACK] === '1') return loadFleetSettings(ctx.env, overrides);
  if (ctx.env.REDIS_SENTINELS?.trim() || ctx.env.REDIS_CLUSTER_NODES?.trim()) return loadFleetSettings(ctx.env, overrides);
  // REDIS_URL of .env names the Redis as the containers see it: not this host's way there.
  const settings = loadFleetSettings({ ...ctx.env, REDIS_URL: undefined, REDIS_URL_DEFAULT: undefined }, overrides);
  const url = await stackRedisUrl(ctx);
  if (url === undefined) return undefined;
  return Object.freeze({ ...settings, redis: Object.freeze({ kind: 'url' as const, url, auth: settings.redis.auth }) });
}

/** The published Redis of the stack; undefined when it is private (the prod overlay). */
async function stackRedisUrl(ctx: Context): Promise<string | undefined> {
  const redis = (await ctx.containers()).find((c) => c.service === 'redis');
  if (!redis) {
    throw new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `the stack's Redis is not running (project ${ctx.project})`, {
      hint: 'start it with `./bouy up`, or point at a Redis with --redis-url redis://host:6379 (or REDIS_SENTINELS, REDIS_CLUSTER_NODES)',
    });
  }
  const port = redis.ports['6379/tcp'];
  return port === undefined ? undefined : `redis://127.0.0.1:${port}`;
}

export const redisUrlOption = {
  'redis-url': { type: 'string', describe: 'Redis to use (default: BOUY_REDIS_URL, else REDIS_SENTINELS or REDIS_CLUSTER_NODES, else the stack\'s published Redis)' },
} as const;

/**
 * The CLI's own connection: a command either answers within seconds or fails; nothing is
 * queued while Redis is away (no offline queue, no reconnect), so `enqueue` never writes after
 * the user gave up. Unlike the services' connections, which wait for Redis to come back.
 */
export const CLI_REDIS_OPTIONS = {
  lazyConnect: true,
  connectTimeout: 3000,
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  retryStrategy: () => null,
  // ioredis waits this long for a socket that already closed (a refused connect) to close.
  disconnectTimeout: 100,
} as const satisfies RedisOptions;

/**
 * Once connected, a command unanswered this long (a Redis that accepts but does not answer)
 * fails. Set only after the connect: ioredis leaves a failed ready check's timer running,
 * which would keep a refused CLI alive for the whole timeout.
 */
export const CLI_COMMAND_TIMEOUT_MS = 3000;

function unreachable(target: RedisTarget, error: unknown): BouyError {
  const reason = redisError(target, error);
  // The same words as the services use; only the hint is the CLI's own.
  if (reason.code === 'BOUY_ERR_REDIS_AUTH') return reason;
  return new BouyError('BOUY_ERR_REDIS_UNREACHABLE', reason.message, {
    hint: 'is the stack up? `./bouy ps`, `./bouy up`; or point --redis-url (or BOUY_REDIS_URL) at a running Redis',
    cause: error,
  });
}

/**
 * Runs `work` with a CLI connection to `target`. Redis down at the start, or lost during the
 * work (a refused, closed or timed-out command), is exit 69 naming the Redis, passwords hidden.
 */
export async function withCliRedis<T>(target: RedisTarget, work: (redis: RedisClient) => Promise<T>): Promise<T> {
  // A sentinel that does not answer is given up at once too, not retried.
  const redis = connect(target, target.kind === 'sentinel' ? { ...CLI_REDIS_OPTIONS, sentinelRetryStrategy: () => null } : CLI_REDIS_OPTIONS);
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error; // the cause (ECONNREFUSED…) behind ioredis's "Connection is closed."
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw unreachable(target, lastError ?? error);
  }
  setCommandTimeout(redis, CLI_COMMAND_TIMEOUT_MS);
  try {
    return await work(redis);
  } catch (error) {
    if (error instanceof BouyError) throw error;
    const lost = isAuthError(error) || redis.status !== 'ready' || /timed out|Connection is closed|isn't writeable/i.test((error as Error)?.message ?? '');
    throw lost ? unreachable(target, lastError ?? error) : error;
  } finally {
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  }
}

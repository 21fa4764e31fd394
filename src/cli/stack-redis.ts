import type { Redis, RedisOptions } from 'ioredis';
import { BouyError } from '../errors.js';
import { connect, isAuthError, redisError } from '../redis.js';
import type { Context } from './context.js';

/**
 * The Redis the CLI talks to: --redis-url or BOUY_REDIS_URL when given, else the stack's own
 * Redis through the loopback port the dev and test overlays publish (found, not configured,
 * so two stacks never fight over 6379).
 */
export async function stackRedisUrl(ctx: Context, explicit: string | undefined): Promise<string> {
  const given = explicit ?? ctx.env.BOUY_REDIS_URL;
  if (given) return given;
  const redis = (await ctx.containers()).find((c) => c.service === 'redis');
  if (!redis) {
    throw new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `the stack's Redis is not running (project ${ctx.project})`, {
      hint: 'start it with `./bouy up`, or point at a Redis with --redis-url redis://host:6379',
    });
  }
  const port = redis.ports['6379/tcp'];
  if (port === undefined) {
    throw new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `the stack's Redis (${redis.name}) is not published to this host`, {
      hint: 'the prod overlay keeps Redis private: pass --redis-url, or run `./bouy exec worker node dist/cli/main.js …` inside',
    });
  }
  return `redis://127.0.0.1:${port}`;
}

export const redisUrlOption = {
  'redis-url': { type: 'string', describe: 'Redis to use (default: BOUY_REDIS_URL, else the stack\'s published Redis)' },
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

function unreachable(url: string, error: unknown): BouyError {
  const reason = redisError(url, error);
  // The same words as the services use; only the hint is the CLI's own.
  if (reason.code === 'BOUY_ERR_REDIS_AUTH') return reason;
  return new BouyError('BOUY_ERR_REDIS_UNREACHABLE', reason.message, {
    hint: 'is the stack up? `./bouy ps`, `./bouy up`; or point --redis-url (or BOUY_REDIS_URL) at a running Redis',
    cause: error,
  });
}

/**
 * Runs `work` with a CLI connection to `url`. Redis down at the start, or lost during the work
 * (a refused, closed or timed-out command), is exit 69 naming the URL with its password hidden.
 */
export async function withCliRedis<T>(url: string, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = connect(url, CLI_REDIS_OPTIONS);
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error; // the cause (ECONNREFUSED…) behind ioredis's "Connection is closed."
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw unreachable(url, lastError ?? error);
  }
  redis.options.commandTimeout = CLI_COMMAND_TIMEOUT_MS;
  try {
    return await work(redis);
  } catch (error) {
    if (error instanceof BouyError) throw error;
    const lost = isAuthError(error) || redis.status !== 'ready' || /timed out|Connection is closed|isn't writeable/i.test((error as Error)?.message ?? '');
    throw lost ? unreachable(url, lastError ?? error) : error;
  } finally {
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  }
}

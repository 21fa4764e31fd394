import { BouyError } from '../errors.js';
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

import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis.js';

/**
 * A Lua script sent by its SHA1 (EVALSHA), its text only when Redis does not know it yet (its
 * first use, after a restart or SCRIPT FLUSH): a script run every heartbeat would otherwise
 * carry its whole text to Redis every time, the bulk of a container's bytes at rest.
 */
export function luaScript(lua: string): (redis: RedisClient, keys: readonly string[], args: readonly string[]) => Promise<unknown> {
  const sha = createHash('sha1').update(lua).digest('hex');
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(lua, keys.length, ...keys, ...args);
    }
  };
}

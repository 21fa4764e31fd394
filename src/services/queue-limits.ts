import type { RedisClient } from '../redis.js';
import type { Config } from '../config/config.js';
import { describeRateLimit } from '../jobs/rate-limit.js';
import type { Logger } from '../log.js';
import { openQueue } from '../queue.js';
import { holdKeysOf, releaseQueue } from '../worker/queue-hold.js';

/**
 * QUEUE_GLOBAL_CONCURRENCY and QUEUE_RATE_LIMIT, written to each queue's BullMQ meta hash, which
 * every worker's fetch script reads (moveToActive): the limits hold fleet-wide, however many
 * containers and workers consume. Every supervisor writes them at start, the same values on a
 * fleet that agrees (the fingerprint includes them), so it is idempotent; an unset variable
 * removes the limit, so the environment stays the one truth about it — except while a
 * processor's 429 holds the queue (queue-hold.ts): a supervisor starting then must not let
 * the fleet go, so the hold stays armed until it ends.
 */
export async function applyQueueLimits(config: Config, redis: RedisClient, log: Logger): Promise<void> {
  for (const name of config.queues) {
    const queue = openQueue(name, redis, config.bullPrefix);
    try {
      if (config.globalConcurrency === undefined) await queue.removeGlobalConcurrency();
      else await queue.setGlobalConcurrency(config.globalConcurrency);
      if (config.rateLimit === undefined) await releaseQueue(redis, holdKeysOf(queue), true);
      else await queue.setGlobalRateLimit(config.rateLimit.max, config.rateLimit.durationMs);
    } finally {
      await queue.close();
    }
  }
  if (config.globalConcurrency !== undefined || config.rateLimit !== undefined) {
    log.info({ queues: config.queues, global_concurrency: config.globalConcurrency ?? null, rate_limit: describeRateLimit(config.rateLimit) }, 'queue-wide limits set');
  }
}

import { Queue } from 'bullmq';
import type { RedisClient as Redis } from './redis.js';

/**
 * A BullMQ Queue on a connection bouy already watches. BullMQ re-emits the connection's errors
 * on every Queue, and a Queue with no 'error' listener prints each one to stderr as a
 * multi-line trace (queue-base.js `console.error`): during a Redis outage that broke the
 * one-JSON-object-per-line logs. The connection's own listener (or the caller's answer) says
 * it once, so the Queue's copy is dropped here.
 */
export function openQueue(name: string, connection: Redis, prefix: string): Queue {
  const queue = new Queue(name, { connection, prefix });
  queue.on('error', () => {});
  return queue;
}

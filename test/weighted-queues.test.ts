import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { withFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const THUMBNAILS = 1000;
const EMAILS = 100;

/**
 * 1,000 thumbnails and 100 emails waiting before one worker (concurrency 1) starts on
 * QUEUE_NAME built by `queueName(thumbnails, emails)`; returns the order the jobs started in
 * (`t` or `e`), read from the recording processor.
 */
async function drainOrder(queueName: (thumbnails: string, emails: string) => string): Promise<string[]> {
  const id = randomUUID().slice(0, 8);
  const names = { thumbnails: `thumbs-${id}`, emails: `emails-${id}` };
  const thumbnails = new Queue(names.thumbnails, { connection: redis.client });
  const emails = new Queue(names.emails, { connection: redis.client });
  try {
    await thumbnails.addBulk(Array.from({ length: THUMBNAILS }, (_, i) => ({ name: 'thumb', data: {}, opts: { jobId: `t-${i}` } })));
    await emails.addBulk(Array.from({ length: EMAILS }, (_, i) => ({ name: 'email', data: {}, opts: { jobId: `e-${i}` } })));
    return await withFleet(redis, { QUEUE_NAME: queueName(names.thumbnails, names.emails), WORKER_COUNT: '1', WORKER_CONCURRENCY: '1' }, async (fleet) => {
      await waitFor(async () => (await fleet.finished()).length >= THUMBNAILS + EMAILS, 'every job finished', 120_000);
      const started = (await fleet.started()).map((r) => r.id);
      expect(new Set(started).size).toBe(THUMBNAILS + EMAILS); // each ran once
      return started.map((jobId) => jobId.slice(0, 1));
    });
  } finally {
    await Promise.all([thumbnails.close(), emails.close()]);
  }
}

/** Thumbnails that started after the last email: 0 when emails waited for the whole drain. */
const thumbnailsAfterLastEmail = (order: string[]) => order.length - 1 - order.lastIndexOf('e');

describe('QUEUE_NAME weights: a busy queue no longer starves another', () => {
  it('thumbnails:1,emails:3 — emails finish during the thumbnail drain, at about 3 per thumbnail', async () => {
    const order = await drainOrder((t, e) => `${t}:1,${e}:3`);
    // Every email ran while most thumbnails still waited (strict order: none would have).
    expect(thumbnailsAfterLastEmail(order)).toBeGreaterThan(THUMBNAILS / 2);
    // The shares, as counts: while both had work, ~1 thumbnail per 3 emails (33 for 100);
    // generous bounds, since a fetch in flight when a queue is paused still runs.
    const thumbnailsBefore = order.slice(0, order.lastIndexOf('e')).filter((q) => q === 't').length;
    expect(thumbnailsBefore).toBeGreaterThanOrEqual(20);
    expect(thumbnailsBefore).toBeLessThanOrEqual(50);
  }, 180_000);

  it('strict order (no weights), unchanged: the emails wait for every thumbnail', async () => {
    const order = await drainOrder((t, e) => `${t},${e}`);
    expect(thumbnailsAfterLastEmail(order)).toBe(0);
    // Before the last thumbnail: at most the email fetched in the first instant, when the
    // cascade cannot yet know thumbnails has work (it assumes an unseen queue is idle).
    expect(order.slice(0, order.lastIndexOf('t')).filter((q) => q === 'e').length).toBeLessThanOrEqual(2);
  }, 180_000);
});

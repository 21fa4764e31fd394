import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/redis.js';
import { RedisReach } from '../src/worker/redis-reach.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

/**
 * What a worker's heartbeat says of its own connections (the supervisor writes the heartbeat,
 * so this is how a worker cut off from Redis still ages in the registry): 0 while they are up,
 * the time since one went down while it is, 0 again once it is back.
 */
describe('a worker\'s reach of Redis', () => {
  it('counts from when a connection closed until it is ready again', async () => {
    const connection = connect(redis.target);
    connection.on('error', () => {});
    const reach = new RedisReach();
    reach.watch(connection);
    try {
      await waitFor(() => connection.status === 'ready', 'connected');
      expect(reach.downMs()).toBe(0);
      await redis.stop();
      await waitFor(() => reach.downMs() > 0, 'the connection seen down');
      const downAt = Date.now() - reach.downMs();
      await waitFor(() => reach.downMs(Date.now()) >= 300, 'time counted while down');
      expect(Date.now() - reach.downMs()).toBeGreaterThanOrEqual(downAt - 5); // counted from when it went down, not restarted
      await redis.start();
      await waitFor(() => reach.downMs() === 0, 'back to 0 once ready again', 30_000);
    } finally {
      connection.disconnect();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bouy, json } from './helpers/bouy.js';
import { FIXTURES } from './helpers/processes.js';
import { startCluster, type RedisCluster } from './helpers/redis-ha.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { singletonOverlaps, type SingletonEvent } from './helpers/singleton-events.js';
import { allReady, leadersOf, startFleet, type TestFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let cluster: RedisCluster;
/** Where the fixtures record what ran. */
let records: RedisServer;
beforeAll(async () => {
  [cluster, records] = await Promise.all([startCluster(3), startRedis()]);
}, 90_000);
afterAll(async () => {
  await cluster?.close();
  await records?.close();
});

const JOBS = 100;

describe('Redis Cluster (3 masters)', () => {
  it('runs every job once under the tagged prefixes, returns a SIGKILLed worker\'s job at once, elects one leader; the CLI sees it all', async () => {
    const id = randomUUID().slice(0, 8);
    const shared = {
      ...cluster.env, QUEUE_NAME: `q-${id}`, BOUY_PREFIX: `{bouy-${id}}`, TEST_RECORD_PREFIX: `rec-${id}`, WORKER_COUNT: '2',
      HEARTBEAT_SECONDS: '1', LEADER_TTL_SECONDS: '2', SHUTDOWN_TIMEOUT_SECONDS: '2', SINGLETON_MODULE: `${FIXTURES}/singleton-recorder.mjs`,
    };
    const fleets: TestFleet[] = [];
    for (const host of ['a', 'b']) fleets.push(await startFleet(cluster, { ...shared, BOUY_HOSTNAME: `${host}${id}` }, { records }));
    const [first] = fleets as [TestFleet];
    try {
      await Promise.all(fleets.map((f) => allReady(f)));
      // The BullMQ keys and bouy's keys each sit in one slot; the slots are spread over the nodes.
      const slots = await Promise.all([`{bull}:q-${id}:wait`, `{bouy-${id}}:workers`].map((key) => cluster.client.call('CLUSTER', 'KEYSLOT', key)));
      expect(slots[0]).not.toBe(slots[1]);

      const jobs = await first.queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'c', data: { ms: 5, i } })));
      await waitFor(async () => ((await first.queue.getJobCounts('completed')).completed ?? 0) >= JOBS, `${JOBS} jobs completed`, 60_000);
      const finished = await first.finished();
      expect(finished.map((r) => r.id).sort()).toEqual(jobs.map((j) => j.id!).sort());
      expect(new Set(finished.map((r) => r.worker)).size).toBeGreaterThan(1);

      // A worker SIGKILLed mid-job: its supervisor finds the job by its lock prefix and returns it.
      const slow = await first.queue.add('slow', { ms: 60_000 });
      const run = await waitFor(async () => (await first.started()).find((r) => r.id === slow.id), 'the slow job started');
      const killedAt = Date.now();
      process.kill(run.pid!, 'SIGKILL');
      const again = await waitFor(async () => (await first.started()).filter((r) => r.id === slow.id)[1], 'the slow job started again', 20_000);
      expect(again.at - killedAt, 'ms from SIGKILL to the job running again').toBeLessThan(5000);
      console.log(`cluster: SIGKILLed worker's job running again after ${again.at - killedAt} ms`);
      await first.queue.remove(slow.id!).catch(() => undefined);

      const leaders = await waitFor(async () => {
        const found = await leadersOf(fleets);
        return found.length === 1 && found;
      }, 'one leader', 15_000);
      expect(leaders).toHaveLength(1);
      const events = (await records.client.lrange(`rec-${id}:singleton`, 0, -1)).map((s) => JSON.parse(s) as SingletonEvent);
      expect(events.filter((e) => e.event === 'start').map((e) => e.host)).toEqual([leaders[0]!.hostname]);
      expect(singletonOverlaps(events)).toEqual([]);

      const cli = await bouy(['workers', '--json'], { ...cluster.env, BOUY_PREFIX: shared.BOUY_PREFIX, HEARTBEAT_SECONDS: '1' }, 30_000);
      expect(cli.code, cli.stderr).toBe(0);
      const listed = json<{ workers: Array<{ host: string }>; leader: string }>(cli);
      expect(listed.workers.map((w) => w.host).sort()).toEqual(fleets.flatMap((f) => [f.hostname, f.hostname]).sort());
      expect(listed.leader).toMatch(new RegExp(`^${leaders[0]!.hostname}:`));
    } finally {
      await Promise.all(fleets.map((f) => f.close()));
    }
  }, 150_000);
});

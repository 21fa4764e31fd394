import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/errors.js';
import { registryKeys } from '../src/registry/keys.js';
import { runEntrypoint } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, startFleet, withFleet } from './helpers/supervisor.js';
import { sleep, waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
});

/** The process's exit if it came within `ms`, else undefined (still running). */
const exitWithin = (exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>, ms: number) =>
  Promise.race([exited, sleep(ms).then(() => undefined)]);

/**
 * Issue 23 item 4: two supervisors with one BOUY_HOSTNAME overwrote each other's worker
 * registrations; one returned the other's running job (run twice) and stranded its own. A
 * hostname belongs to one live supervisor: a second one is refused (exit 69, naming the first).
 */
describe('one BOUY_HOSTNAME, one live supervisor', () => {
  it('a second supervisor with the same hostname exits 69 naming the first\'s pid, and the first\'s running job is left alone', async () => {
    await withFleet(redis, { WORKER_COUNT: '1', SHUTDOWN_TIMEOUT_SECONDS: '2' }, async (first) => {
      await allReady(first);
      const job = await first.queue.add('held', { gate: 'go' });
      await waitFor(async () => (await first.started()).length === 1, 'the first supervisor to run the job');
      // Who the registration belongs to (its heartbeat and counters move on by themselves).
      const identity = async () => {
        const { pid, started, supervisor, [`bull:${first.queueName}`]: bullId } = await redis.client.hgetall(registryKeys(first.prefix).worker(`worker-${first.hostname}-1`));
        return { pid, started, supervisor, bullId };
      };
      const registration = await identity();

      const second = runEntrypoint(['worker'], { ...first.env, HEALTH_PORT: String(first.healthPort + 1) });
      try {
        const exit = await exitWithin(second.exited, 20_000);
        expect(exit, 'the second supervisor is still running').toEqual({ code: EXIT.unavailable, signal: null });
        const said = second.stderr.join('\n');
        expect(said).toContain(`BOUY_HOSTNAME=${first.hostname}`);
        expect(said).toContain(`pid ${first.run.pid}`);
      } finally {
        second.kill('SIGKILL');
        await second.exited;
      }
      expect(await identity()).toEqual(registration);
      await first.open('go');
      await waitFor(async () => (await first.finished()).length === 1, 'the job to finish');
      expect((await first.started()).map((r) => r.id)).toEqual([job.id]);
    });
  });

  it('a hostname held from another machine: refused while the holder renews, taken once it stops renewing', async () => {
    const fleetEnv = { WORKER_COUNT: '1', HEARTBEAT_SECONDS: '1' };
    const live = await startFleet(redis, fleetEnv); // only its names and environment: stopped at once
    await live.close();
    const key = `${live.prefix}:host:${live.hostname}`;
    const holder = { run: 'elsewhere-run', pid: 4242, machine: 'other-machine/boot', beat: 0 };
    // A supervisor on another machine that renews every 300 ms.
    const renewing = setInterval(() => {
      holder.beat += 1;
      void redis.client.set(key, JSON.stringify(holder), 'PX', 3000);
    }, 300);
    try {
      await redis.client.set(key, JSON.stringify(holder), 'PX', 3000);
      const refused = runEntrypoint(['worker'], live.env);
      const exit = await exitWithin(refused.exited, 20_000);
      refused.kill('SIGKILL');
      expect(exit).toEqual({ code: EXIT.unavailable, signal: null });
      expect(refused.stderr.join('\n')).toContain('pid 4242 on other-machine/boot');
    } finally {
      clearInterval(renewing);
    }
    // It stopped renewing (lost with its host): its claim is watched for a stale period, then taken.
    await withFleet(redis, { ...live.env }, async (fleet) => {
      await allReady(fleet);
      expect(JSON.parse((await redis.client.get(key))!).pid).toBe(fleet.run.pid);
    });
  });
});

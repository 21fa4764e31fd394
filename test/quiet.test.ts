import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthStatus } from '../src/health/health-status.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { expectNothingNewTaken, expectQuietProbes } from './helpers/quiet.js';
import { allReady, startFleet, type TestFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

// Quiet (Sidekiq's TSTP): take no new jobs, finish the running ones, stay up reporting quiet
// until SIGTERM. Real supervisors, workers, signals and Redis.

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const ADMIN_TOKEN = `admin-${randomUUID()}`;

interface WorkerView { name: string; pid: number | null; state: string }

async function workers(fleet: TestFleet): Promise<WorkerView[]> {
  return (await fleet.health()).body.workers as WorkerView[];
}

describe('quiet', () => {
  it('SIGTSTP: running job finishes, no new one is taken, readiness 503, liveness 200, exit 0 on SIGTERM', async () => {
    const fleet = await startFleet(redis, { WORKER_COUNT: '2' });
    try {
      await allReady(fleet);
      const running = await fleet.queue.add('slow', { gate: 'slow' });
      await waitFor(async () => (await fleet.started()).length === 1, 'the slow job to start');
      fleet.run.kill('SIGTSTP');
      await expectQuietProbes(fleet);
      await expectNothingNewTaken(fleet, running.id!, 'slow');
      // Still up and still quiet after the last job finished (not drained away).
      expect((await fleet.health()).body.status).toBe('quiet');
      expect(fleet.run.proc.exitCode).toBeNull();
      fleet.run.kill('SIGTERM');
      expect(await fleet.run.exited).toEqual({ code: 0, signal: null });
    } finally {
      await fleet.close();
    }
  });

  it('POST /admin/quiet needs ADMIN_TOKEN; a worker restarted while quiet comes back quiet', async () => {
    const fleet = await startFleet(redis, { WORKER_COUNT: '2', ADMIN_TOKEN });
    const quiet = (token?: string) => fetch(`http://127.0.0.1:${fleet.healthPort}/admin/quiet`, {
      method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    try {
      await allReady(fleet);
      expect((await quiet()).status).toBe(401);
      expect((await quiet('wrong-token-wrong-token')).status).toBe(401);
      expect((await fleet.health()).body.status).toBe('healthy');

      const running = await fleet.queue.add('slow', { gate: 'slow' });
      await waitFor(async () => (await fleet.started()).length === 1, 'the slow job to start');
      const first = await quiet(ADMIN_TOKEN);
      expect(first.status).toBe(202);
      expect(await first.json()).toEqual({ quiet: true, already: false });
      const again = await quiet(ADMIN_TOKEN);
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ quiet: true, already: true });
      await expectQuietProbes(fleet);

      // The idle worker dies: its replacement must start quiet, not fetch.
      const busyWorker = (await fleet.started())[0]!.worker;
      const idle = (await workers(fleet)).find((w) => w.name !== busyWorker)!;
      process.kill(idle.pid!, 'SIGKILL');
      await waitFor(async () => {
        const now = (await workers(fleet)).find((w) => w.name === idle.name)!;
        return now.pid !== null && now.pid !== idle.pid && now.state === 'quiet';
      }, 'the killed worker replaced, quiet', 30_000);
      await expectNothingNewTaken(fleet, running.id!, 'slow');
    } finally {
      await fleet.close();
    }
  });

  it('healthStatus: quiet while no slot is ready and one is quiet; Redis down is still unhealthy', () => {
    const slot = (state: string) => ({ state }) as Parameters<typeof healthStatus>[1][number];
    expect(healthStatus(true, [slot('quiet'), slot('quiet')])).toBe('quiet');
    expect(healthStatus(true, [slot('quiet'), slot('draining')])).toBe('quiet');
    expect(healthStatus(false, [slot('quiet')])).toBe('unhealthy');
    expect(healthStatus(true, [slot('ready'), slot('quiet')])).toBe('degraded');
  });
});

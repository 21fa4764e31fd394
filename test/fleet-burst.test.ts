import { readdir, readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_BURST } from '../src/dashboard/command-rate.js';
import { MAX_WORKERS } from '../src/config/config.js';
import { sendCommand, type FleetCommand } from '../src/fleet/commands.js';
import { startDashboard } from './helpers/dashboard.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, completedJobs, startFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

/** Live (not zombie) child processes of `pid`, read from /proc. */
async function childrenOf(pid: number): Promise<number> {
  let count = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid && state !== 'Z') count += 1;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}

describe('a burst of fleet commands', () => {
  it('1,001 commands at once: applied in order and collapsed (the last resize wins), never more than 20 worker processes alive, none dropped as stale', async () => {
    const fleet = await startFleet(redis, { WORKER_COUNT: '2', LOG_LEVEL: 'info' });
    let sampling = true;
    let most = 0;
    const sampler = (async () => {
      while (sampling) most = Math.max(most, await childrenOf(fleet.run.pid));
    })();
    try {
      await allReady(fleet);
      const cycle: FleetCommand[] = [
        { action: 'resize', host: fleet.hostname, workers: MAX_WORKERS },
        { action: 'resize', host: fleet.hostname, workers: 1 },
        { action: 'recycle', host: fleet.hostname, worker: 'all' },
        { action: 'resize', host: fleet.hostname, workers: 7 },
      ];
      // At once: one connection pipelines all 1,001 in order, as a page hammered by many
      // operators would (sent one by one, a fast supervisor keeps up and little collapses).
      await Promise.all([
        ...Array.from({ length: 1000 }, (_, i) => sendCommand(redis.client, fleet.prefix, cycle[i % cycle.length]!)),
        sendCommand(redis.client, fleet.prefix, { action: 'resize', host: fleet.hostname, workers: 2 }),
      ]);

      const outcome = await waitFor(async () => {
        if (most > MAX_WORKERS) return 'over the cap';
        const { body } = await fleet.health();
        return body.worker_count === 2 && body.workers_ready === 2 && (await childrenOf(fleet.run.pid)) === 2 && 'two';
      }, 'two workers, the last resize, and no other process left', 60_000);
      expect({ outcome, most }).toEqual({ outcome: 'two', most: expect.any(Number) });
      // Consuming again: a job runs.
      await fleet.queue.add('after-the-burst', {});
      await completedJobs(fleet, 1);
      sampling = false;
      await sampler;
      console.log(`burst of 1,001 commands: at most ${most} worker processes at once`);
      expect(most).toBeLessThanOrEqual(MAX_WORKERS);
      expect(fleet.run.lines.filter((l) => l.msg === 'fleet page command ignored')).toEqual([]);
      const resizes = fleet.run.lines.filter((l) => l.msg === 'fleet page: resize').map((l) => (l.command as { workers: number }).workers);
      expect(resizes.at(-1)).toBe(2);
      const resizesSent = 1 + (1000 / cycle.length) * 3;
      expect(resizes.length).toBeLessThan(resizesSent); // collapsed: some resizes never applied
      expect(fleet.run.lines.some((l) => String(l.msg).startsWith('fleet page: ') && String(l.msg).includes('commands collapsed to'))).toBe(true);
    } finally {
      sampling = false;
      await sampler;
      await fleet.close();
    }
  }, 120_000);

  it('growing while removed workers still finish their jobs waits for them: 20 processes at most, then 20 workers again', async () => {
    const token = 'test-admin-token-0123456789';
    const fleet = await startFleet(redis, { WORKER_COUNT: String(MAX_WORKERS), WORKER_CONCURRENCY: '1', ADMIN_TOKEN: token, LOG_LEVEL: 'info' });
    const scale = async (workers: number) => (await fetch(`http://127.0.0.1:${fleet.healthPort}/admin/scale`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ workers }),
    })).json();
    let sampling = true;
    let most = 0;
    const sampler = (async () => {
      while (sampling) most = Math.max(most, await childrenOf(fleet.run.pid));
    })();
    try {
      await allReady(fleet, 60_000);
      // One held job per worker: a removed worker stays alive until its job is let go.
      await fleet.queue.addBulk(Array.from({ length: MAX_WORKERS }, () => ({ name: 'held', data: { gate: 'held' } })));
      await waitFor(async () => (await fleet.started()).length === MAX_WORKERS, 'a job on every worker', 60_000);
      expect(await scale(1)).toEqual({ workers: 1 });
      expect(await scale(MAX_WORKERS)).toEqual({ workers: MAX_WORKERS });
      // scaleTo forks before it answers: any process over the cap exists by now.
      expect(await childrenOf(fleet.run.pid)).toBe(MAX_WORKERS);
      await fleet.run.waitForLog((l) => String(l.msg).startsWith(`scaling to ${MAX_WORKERS} worker(s) as the workers being removed exit`), 'the growth held back');
      await fleet.open('held');
      await waitFor(async () => {
        const { body } = await fleet.health();
        return body.worker_count === MAX_WORKERS && body.workers_ready === MAX_WORKERS;
      }, `${MAX_WORKERS} workers again`, 60_000);
      await completedJobs(fleet, MAX_WORKERS);
      sampling = false;
      await sampler;
      expect(most).toBe(MAX_WORKERS);
    } finally {
      sampling = false;
      await sampler;
      await fleet.close();
    }
  }, 180_000);

  it(`the endpoint answers 429 with Retry-After past ${COMMAND_BURST} commands at once for one container`, async () => {
    const fleet = await startFleet(redis, { WORKER_COUNT: '1' });
    const user = 'operator';
    const password = `pw-${randomUUID()}`;
    const dashboard = await startDashboard(redis, { BOUY_PREFIX: fleet.prefix, QUEUE_NAME: fleet.queueName, DASHBOARD_USER: user, DASHBOARD_PASSWORD: password, LOG_LEVEL: 'warn' });
    try {
      await allReady(fleet);
      await waitFor(async () => (await fetch(`${dashboard.url}/fleet/api`, { headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } })).ok, 'the fleet listed');
      const headers = { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, 'content-type': 'application/json', 'x-bouy-fleet': '1' };
      const started = performance.now();
      const answers = [];
      for (let i = 0; i < 1001; i += 1) {
        const response = await fetch(`${dashboard.url}/fleet/api/commands`, { method: 'POST', headers, body: JSON.stringify({ action: 'resize', host: fleet.hostname, workers: 1 }) });
        answers.push({ status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as { message?: string } });
      }
      const seconds = (performance.now() - started) / 1000;
      const accepted = answers.filter((a) => a.status === 202).length;
      const limited = answers.filter((a) => a.status === 429);
      console.log(`1,001 commands in ${seconds.toFixed(1)} s: ${accepted} accepted, ${limited.length} answered 429`);
      expect(accepted + limited.length).toBe(1001);
      expect(answers.slice(0, COMMAND_BURST).every((a) => a.status === 202)).toBe(true);
      expect(accepted).toBeLessThanOrEqual(COMMAND_BURST + Math.ceil(seconds));
      for (const answer of limited) {
        expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(answer.body.message).toMatch(/takes at most 10 commands at once, then one every 1 s: retry in \d+ s/);
      }
    } finally {
      await Promise.all([fleet.close(), dashboard.close()]);
    }
  });
});

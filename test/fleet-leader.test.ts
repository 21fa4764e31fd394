import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortRun } from './helpers/free-port.js';
import { FIXTURES, runEntrypoint, stopProcess } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, leadersOf, startFleet, type TestFleet } from './helpers/supervisor.js';
import { pollUntil, waitFor } from './helpers/wait.js';
import { bouy, json } from './helpers/bouy.js';
import { loadConfig, sharedSettings } from '../src/config/config.js';
import { fingerprint } from '../src/registry/members.js';

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const TTL_S = 2;

describe('one leader per fleet', () => {
  it('elects exactly one of three supervisors, runs the singleton only there, and fails over after SIGKILL', async () => {
    const id = randomUUID().slice(0, 8);
    const shared = { BOUY_PREFIX: `fleet-${id}`, LEADER_TTL_SECONDS: String(TTL_S), SINGLETON_MODULE: `${FIXTURES}/singleton-recorder.mjs`, QUEUE_NAME: `q-${id}` };
    const fleets: TestFleet[] = [];
    for (let i = 0; i < 3; i += 1) fleets.push(await startFleet(redis, { ...shared, BOUY_HOSTNAME: `h${i}-${id}`, TEST_RECORD_PREFIX: `rec-${id}` }));
    try {
      await Promise.all(fleets.map((f) => allReady(f)));
      const [leader] = await waitFor(async () => {
        const leaders = await leadersOf(fleets);
        return leaders.length === 1 && leaders;
      }, 'one leader', 15_000);
      const logLine = await leader!.run.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('singleton singleton-module started'), 'singleton started');
      expect(logLine.fencing_token).toBeGreaterThan(0);
      const { body } = await leader!.health();
      expect(body.leader_id).toMatch(new RegExp(`^${leader!.hostname}:`));
      expect((await leadersOf(fleets)).length).toBe(1);

      const killedAt = Date.now();
      leader!.run.kill('SIGKILL');
      await leader!.run.exited;
      const rest = fleets.filter((f) => f !== leader);
      const [next] = await waitFor(async () => {
        const leaders = await leadersOf(rest);
        return leaders.length === 1 && leaders;
      }, 'a new leader', (TTL_S * 2 + 5) * 1000);
      // The lease of a SIGKILLed leader runs out within the ttl; a follower tries again when it
      // does (timing.ts followerDelay), so the takeover is the ttl plus a little.
      const takeoverMs = Date.now() - killedAt;
      expect(takeoverMs).toBeLessThan(TTL_S * 1000 + 3_000);
      await waitFor(async () => (await redis.client.llen(`rec-${id}:singleton`)) >= 2, 'second singleton start');
      const starts = (await redis.client.lrange(`rec-${id}:singleton`, 0, -1)).map((s) => JSON.parse(s) as { event: string; host: string; token: number }).filter((r) => r.event === 'start');
      expect(starts.map((s) => s.host)).toEqual([leader!.hostname, next!.hostname]);
      expect(starts[1]!.token).toBeGreaterThan(starts[0]!.token);
      // Graceful stop releases the lease (it does not leave it to expire), after the singleton stopped.
      await next!.close();
      const holder = await redis.client.get(`fleet-${id}:leader`);
      expect(holder === null || !holder.startsWith(`${next!.hostname}:`)).toBe(true);
      const last = rest.find((f) => f !== next)!;
      const [after] = await waitFor(async () => {
        const leaders = await leadersOf([last]);
        return leaders.length === 1 && leaders;
      }, 'handover on graceful stop', 10_000);
      expect(after!.hostname).toBe(last.hostname);
      const events = await waitFor(async () => {
        const all = (await redis.client.lrange(`rec-${id}:singleton`, 0, -1)).map((s) => JSON.parse(s) as { event: string; host: string });
        return all.some((e) => e.event === 'start' && e.host === last.hostname) && all;
      }, 'the singleton to start on the last supervisor');
      const stopIdx = events.findIndex((e) => e.event === 'stop' && e.host === next!.hostname);
      const thirdStart = events.findIndex((e) => e.event === 'start' && e.host === last.hostname);
      expect(stopIdx).toBeGreaterThan(-1);
      expect(thirdStart).toBeGreaterThan(stopIdx);
    } finally {
      await Promise.all(fleets.map((f) => f.close()));
    }
  });
});

describe('fleet configuration check', () => {
  it('shows in /health when one supervisor runs another image version', async () => {
    const id = randomUUID().slice(0, 8);
    const shared = { BOUY_PREFIX: `ver-${id}`, QUEUE_NAME: `q-${id}`, HEARTBEAT_SECONDS: '0.5' };
    const current = await startFleet(redis, { ...shared, BOUY_HOSTNAME: `new-${id}`, BOUY_IMAGE_VERSION: '2.0.0' });
    const old = await startFleet(redis, { ...shared, BOUY_HOSTNAME: `old-${id}`, BOUY_IMAGE_VERSION: '1.9.0' });
    try {
      await Promise.all([allReady(current), allReady(old)]);
      const { body } = await waitFor(async () => {
        const h = await current.health();
        return h.body.fleet?.members.length === 2 && h;
      }, 'both supervisors in the fleet view');
      expect(body.fleet.consistent).toBe(false);
      expect(body.fleet.differences).toContainEqual({ setting: 'version', values: { '"2.0.0"': [`new-${id}`], '"1.9.0"': [`old-${id}`] } });
      // Said by the newcomer at its start or by the leader at its next read; which one that is
      // depends on who won the election (only the leader keeps reading the fleet).
      await waitFor(() => [current, old].some((f) => f.run.lines.some((l) => l.msg?.startsWith('the fleet disagrees') === true)), 'disagreement logged by one of the two');
      // Each publishes the fingerprint of its shared settings (version included) and its version.
      const expected = (env: Record<string, string | undefined>) => fingerprint(sharedSettings(loadConfig(env, false)));
      expect(body.version).toBe('2.0.0');
      expect(body.fingerprint).toBe(expected(current.env));
      expect((await old.health()).body).toMatchObject({ version: '1.9.0', fingerprint: expected(old.env) });
      expect(expected(current.env)).not.toBe(expected(old.env));
      // ./bouy workers says the same to an operator.
      const listed = json<{ fleet: { consistent: boolean; differences: unknown[] } }>(
        await bouy(['workers', '--json', '--redis-url', redis.url], { BOUY_PREFIX: shared.BOUY_PREFIX, HEARTBEAT_SECONDS: shared.HEARTBEAT_SECONDS }));
      expect(listed.fleet.consistent).toBe(false);
      expect(listed.fleet.differences).toContainEqual({ setting: 'version', values: { '"2.0.0"': [`new-${id}`], '"1.9.0"': [`old-${id}`] } });
      const text = await bouy(['workers', '--redis-url', redis.url], { BOUY_PREFIX: shared.BOUY_PREFIX, HEARTBEAT_SECONDS: shared.HEARTBEAT_SECONDS });
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('fleet disagrees:\n  version: ');
      expect(text.stdout).toContain(`"2.0.0" on new-${id}`);
      expect(text.stdout).toContain(`"1.9.0" on old-${id}`);
      await old.close();
      const alone = await waitFor(async () => {
        const h = await current.health();
        return h.body.fleet?.members.length === 1 && h;
      }, 'the old one withdrawn');
      expect(alone.body.fleet.consistent).toBe(true);
      const agreed = await bouy(['workers', '--redis-url', redis.url], { BOUY_PREFIX: shared.BOUY_PREFIX, HEARTBEAT_SECONDS: shared.HEARTBEAT_SECONDS });
      expect(agreed.stdout).toContain(`fleet: 1 supervisor(s), configured identically (version 2.0.0, ${expected(current.env)})`);
    } finally {
      await Promise.all([current.close(), old.close()]);
    }
  });
});

describe('the scheduler service', () => {
  it('keeps the job schedulers in place from one of two schedulers only', async () => {
    const id = randomUUID().slice(0, 8);
    const queueName = `sched-${id}`;
    const port = await freePortRun(2);
    const env = {
      REDIS_URL: redis.url, BOUY_PREFIX: `sched-${id}`, LEADER_TTL_SECONDS: String(TTL_S), HEALTH_HOST: '127.0.0.1',
      HEALTH_PORT_RANGE: `${port}-${port + 1}`, HEALTH_PORT: String(port),
      SCHEDULES: JSON.stringify([{ queue: queueName, id: 'tick', every: 60_000, data: { prompt: 'tick' } }, { queue: queueName, id: 'nightly', pattern: '0 3 * * *' }]),
    };
    const a = runEntrypoint(['scheduler'], { ...env, BOUY_HOSTNAME: `a${id}` });
    const b = runEntrypoint(['scheduler'], { ...env, BOUY_HOSTNAME: `b${id}` });
    try {
      const placed = await waitFor(() => [a, b].find((r) => r.lines.some((l) => l.msg === 'job scheduler tick in place')), 'scheduler in place', 15_000);
      await placed.waitForLog((l) => l.msg === 'job scheduler nightly in place', 'the cron scheduler in place');
      const queue = new Queue(queueName, { connection: redis.client });
      const schedulers = await queue.getJobSchedulers();
      const nightlyJob = await queue.getDelayed();
      await queue.close();
      expect(schedulers.map((s) => s.key).sort()).toEqual(['nightly', 'tick']);
      // The cron one runs at the pattern's next time, as cron-parser (BullMQ's) computes it.
      const nightly = schedulers.find((s) => s.key === 'nightly')!;
      expect(nightly.pattern).toBe('0 3 * * *');
      const next = CronExpressionParser.parse('0 3 * * *').next().getTime();
      expect(nightly.next).toBe(next);
      expect(nightlyJob.filter((j) => j.name === 'nightly').map((j) => j.timestamp + j.delay)).toEqual([next]);
      const other = placed === a ? b : a;
      // Not at one instant: over two lease ttls, in which the leader renewed several times.
      const otherPlaced = await pollUntil(async () => other.lines.some((l) => l.msg === 'job scheduler tick in place'), (v) => v, 2 * TTL_S * 1000);
      expect(otherPlaced).toBe(false);
      const healths = await waitFor(() => Promise.all([port, port + 1].map(async (p) => (await (await fetch(`http://127.0.0.1:${p}/health`)).json()) as { leader: boolean }))
        .catch(() => undefined), 'both schedulers\' health to answer');
      expect(healths.filter((h) => h.leader)).toHaveLength(1);
    } finally {
      await Promise.all([stopProcess(a), stopProcess(b)]);
    }
    expect((await a.exited).code).toBe(0);
    expect((await b.exited).code).toBe(0);
  });

  it('rejects bad SCHEDULES with the entry and what is allowed', async () => {
    const run = runEntrypoint(['scheduler'], { REDIS_URL: redis.url, SCHEDULES: '[{"queue":"q","id":"x"}]' });
    expect((await run.exited).code).toBe(64);
    const err = run.stderr.join('\n');
    expect(err).toContain('SCHEDULES[0]=');
    expect(err).toContain('is not valid: an object with "queue" (a queue name), "id", exactly one of "every" (whole ms ≥ 1000) or "pattern" (cron)');
  });
});

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderElection, leaseTiming } from '../src/leader/index.js';
import { connect } from '../src/redis.js';
import { FIXTURES, started } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { waitFor } from './helpers/wait.js';

const TTL = 3000;
const { safetyMarginMs: MARGIN, retryEveryMs: RETRY } = leaseTiming(TTL);

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const freshKey = () => `test-${randomUUID()}:leader`;

interface Event { event: string; t: number; token?: number; reason?: string; until?: number }

interface Candidate {
  id: string;
  events: Event[];
  stderr: string[];
  exited: Promise<void>;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM and wait for the exit (SIGCONT first, in case the test left it stopped). */
  stop(): Promise<void>;
  /** Killed at this time (ms), if the test killed it: its leadership ended there. */
  killedAt?: number;
}

/** Starts `test/fixtures/leader-candidate.mjs` competing for `key`. */
function candidate(key: string, id: string): Candidate {
  const proc = spawn(process.execPath, [path.join(FIXTURES, 'leader-candidate.mjs')], {
    env: { PATH: process.env.PATH, REDIS_URL: redis.url, LEADER_KEY: key, LEADER_ID: id, LEADER_TTL_MS: String(TTL) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(proc);
  const events: Event[] = [];
  const stderr: string[] = [];
  readline.createInterface({ input: proc.stdout }).on('line', (line) => events.push(JSON.parse(line) as Event));
  readline.createInterface({ input: proc.stderr }).on('line', (line) => stderr.push(line));
  // 'close', not 'exit': the events printed last (singleton-stopped, demoted) are read by then.
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  const c: Candidate = {
    id,
    events,
    stderr,
    exited,
    signal: (signal) => proc.kill(signal),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGCONT');
      proc.kill('SIGTERM');
      await exited;
    },
  };
  return c;
}

const of = (c: Candidate, event: string) => c.events.filter((e) => e.event === event);
const leaders = (cs: Candidate[]) => cs.filter((c) => of(c, 'elected').length > 0);
const waitForEvent = (c: Candidate, event: string, after = 0, timeoutMs = 20_000) =>
  waitFor(() => c.events.find((e) => e.event === event && e.t >= after), `${c.id}: ${event}`, timeoutMs);
const waitForLeader = (cs: Candidate[], after = 0) =>
  waitFor(() => cs.find((c) => c.events.some((e) => e.event === 'elected' && e.t >= after)), 'a leader', 20_000);
/** Of two candidates, the leader (once it reports `event`) and the other. */
async function leaderAndFollower(cs: Candidate[], event: string): Promise<[Candidate, Candidate]> {
  const leader = await waitForLeader(cs);
  await waitForEvent(leader, event);
  return [leader, cs.find((c) => c !== leader)!];
}
/** Waits until `c` has done singleton work at or after `until` (ms, wall clock). */
const waitForWorkUntil = (c: Candidate, until: number) =>
  waitFor(() => of(c, 'work').some((e) => e.t >= until), `${c.id} working until ${until}`, 20_000);

/** Each process's leadership intervals: from "elected" to the end it reported (or its kill). */
function intervals(c: Candidate): Array<{ from: number; to: number }> {
  const result: Array<{ from: number; to: number }> = [];
  for (const e of c.events) {
    if (e.event === 'elected') result.push({ from: e.t, to: Infinity });
    if (e.event === 'demoted') result[result.length - 1]!.to = e.until!;
  }
  const last = result[result.length - 1];
  if (last && last.to === Infinity && c.killedAt !== undefined) last.to = c.killedAt;
  return result;
}

/**
 * The safety property, from the processes' own timelines: leadership intervals of different
 * processes never overlap, and every act of singleton work lies inside its own process's.
 */
function expectOneLeaderAtATime(cs: Candidate[]): void {
  for (const a of cs) {
    for (const b of cs) {
      if (a === b) continue;
      for (const x of intervals(a)) {
        for (const y of intervals(b)) expect(x.to <= y.from || y.to <= x.from, `${a.id} ${JSON.stringify(x)} overlaps ${b.id} ${JSON.stringify(y)}`).toBe(true);
      }
    }
    for (const work of of(a, 'work')) {
      // 5 ms: Date.now() and the monotonic clock, read one after the other.
      expect(intervals(a).some((i) => work.t >= i.from - 5 && work.t <= i.to + 5), `${a.id} worked at ${work.t} outside its leadership`).toBe(true);
    }
  }
}

/**
 * Starts one candidate per id on a fresh key, runs `body`, checks the timelines for overlap,
 * and stops every candidate whatever happened.
 */
async function withCandidates(ids: string[], body: (cs: Candidate[], key: string) => Promise<void>): Promise<void> {
  const key = freshKey();
  const cs = ids.map((id) => candidate(key, id));
  try {
    await body(cs, key);
    expectOneLeaderAtATime(cs);
  } finally {
    await Promise.all(cs.map((c) => c.stop()));
  }
}

describe('leader election in one process', () => {
  it('runs singleton work on the leader only, stops it before handing over, and fences with a growing token', async () => {
    const key = freshKey();
    const clients = [connect(redis.target), connect(redis.target)];
    const log = pino({ level: 'silent' });
    const timeline: string[] = [];
    const elections = clients.map((client, i) => {
      const election = new LeaderElection({ redis: client, key, id: `in-process-${i}`, ttlMs: TTL, log });
      election.runWhileLeader('clock', async ({ fencingToken, stillLeader }) => {
        // Recorded, not asserted here: SingletonTask catches what this callback throws.
        timeline.push(`start ${i} ${fencingToken}${stillLeader() ? '' : ' (not leader!)'}`);
        return async () => {
          await new Promise((resolve) => setTimeout(resolve, 200));
          timeline.push(`stop ${i} ${fencingToken}`);
        };
      });
      return election;
    });
    try {
      elections[0]!.start();
      await waitFor(() => elections[0]!.isLeader(), 'the first to lead');
      elections[1]!.start();
      const first = elections[0]!.status();
      expect(first).toMatchObject({ leader: true, id: 'in-process-0' });
      expect(first.leaseRemainingMs).toBeGreaterThan(0);
      expect(first.leaseRemainingMs).toBeLessThanOrEqual(TTL - MARGIN);
      expect(await elections[1]!.leaderId()).toBe('in-process-0');
      await waitFor(() => timeline.length === 1, 'the singleton to start');

      await elections[0]!.stop();
      // Stopped before the lease was released: the stop is in the timeline already.
      expect(timeline).toEqual([`start 0 ${first.fencingToken}`, `stop 0 ${first.fencingToken}`]);
      expect(elections[0]!.isLeader()).toBe(false);
      await waitFor(() => elections[1]!.isLeader(), 'the second to take over');
      const second = elections[1]!.fencingToken()!;
      expect(second).toBeGreaterThan(first.fencingToken!);
      await waitFor(() => timeline.length === 3, 'the singleton to start on the new leader');
      expect(timeline[2]).toBe(`start 1 ${second}`);
      expect(elections[0]!.status()).toEqual({ leader: false, id: 'in-process-0', fencingToken: null, leaseRemainingMs: null });
    } finally {
      await Promise.all(elections.map((e) => e.stop()));
      for (const client of clients) client.disconnect();
    }
    expect(timeline).toHaveLength(4);
    expect(await redis.client.exists(key)).toBe(0);
  });
});

describe('leader election across processes', () => {
  it.each([2, 3])('elects exactly one of %i candidates and keeps it', (n) =>
    withCandidates(Array.from({ length: n }, (_, i) => `c${i}`), async (cs, key) => {
      const leader = await waitForLeader(cs);
      const elected = of(leader, 'elected')[0]!;
      // Long enough for every follower to have tried several times and the lease to renew.
      await waitForWorkUntil(leader, elected.t + 2 * TTL);
      expect(leaders(cs)).toEqual([leader]);
      expect(of(leader, 'elected')).toHaveLength(1);
      expect(of(leader, 'demoted')).toHaveLength(0);
      expect(of(leader, 'singleton-started')).toEqual([expect.objectContaining({ token: elected.token })]);
      expect(await redis.client.get(key)).toBe(leader.id);
      for (const c of cs) if (c !== leader) expect(c.stderr.join('\n')).toContain(`follower: ${leader.id} leads`);
    }));

  it('replaces a SIGKILLed leader within the ttl', () =>
    withCandidates(['k0', 'k1', 'k2'], async (cs) => {
      const first = await waitForLeader(cs);
      await waitForWorkUntil(first, of(first, 'elected')[0]!.t + TTL / 2);
      first.killedAt = Date.now();
      first.signal('SIGKILL');
      await first.exited;
      const next = await waitForLeader(cs.filter((c) => c !== first), first.killedAt);
      const elected = of(next, 'elected')[0]!;
      const takeoverMs = elected.t - first.killedAt;
      console.log(`leader failover after SIGKILL: ${takeoverMs} ms (ttl ${TTL} ms)`);
      // The lease expires at most one ttl after the kill, and the followers try right then.
      expect(takeoverMs).toBeLessThanOrEqual(TTL + RETRY);
      expect(elected.token).toBeGreaterThan(of(first, 'elected')[0]!.token!);
      expect(leaders(cs)).toHaveLength(2);
    }));

  it('hands over at once on a graceful stop, after the old leader stopped its singleton work', () =>
    withCandidates(['g0', 'g1'], async (cs, key) => {
      const [first, other] = await leaderAndFollower(cs, 'singleton-started');
      const stopAt = Date.now();
      await first.stop();
      expect(await redis.client.get(key)).not.toBe(first.id);
      const elected = await waitForEvent(other, 'elected');
      const handoverMs = elected.t - stopAt;
      console.log(`leader handover after a graceful stop: ${handoverMs} ms (ttl ${TTL} ms)`);
      // Without the release the followers would wait for the lease to expire (≥ 2/3 ttl).
      expect(handoverMs).toBeLessThan(TTL / 2);
      // The new leader starts its singleton work just after its election event: waited for,
      // not read once (CI read it too early: "Cannot read properties of undefined").
      const started = await waitForEvent(other, 'singleton-started');
      const stopped = of(first, 'singleton-stopped')[0]!;
      expect(stopped.t).toBeLessThanOrEqual(started.t);
      expect(of(first, 'demoted')[0]!.reason).toBe('stopping');
    }));

  it('a leader paused past its lease wakes up demoted and never overlaps the new leader', () =>
    withCandidates(['p0', 'p1'], async (cs, key) => {
      const [paused, other] = await leaderAndFollower(cs, 'work');
      const pausedAt = Date.now();
      paused.signal('SIGSTOP');
      await waitForEvent(other, 'elected', pausedAt);
      await waitForWorkUntil(other, Date.now() + TTL);
      const resumedAt = Date.now();
      paused.signal('SIGCONT');
      const demoted = await waitForEvent(paused, 'demoted');
      expect(demoted.reason).toMatch(/deadline passed|lease lost/);
      // Its leadership ended by its own deadline, while it was paused, before the other's began.
      expect(demoted.until).toBeLessThanOrEqual(pausedAt + TTL - MARGIN);
      expect(demoted.until).toBeLessThan(of(other, 'elected')[0]!.t);
      // Awake for another ttl next to a working leader: it never claims leadership again.
      await waitForWorkUntil(other, Date.now() + TTL);
      expect(of(paused, 'work').filter((w) => w.t >= resumedAt)).toEqual([]);
      expect(of(paused, 'elected')).toHaveLength(1);
      expect(of(other, 'demoted')).toHaveLength(0);
      expect(await redis.client.get(key)).toBe(other.id);
    }));

  it('a leader that loses Redis demotes itself before its lease could expire; a restarted Redis is trusted after one ttl', () =>
    withCandidates(['r0'], async ([leader]) => {
      const elected = await waitForEvent(leader!, 'elected');
      await waitForWorkUntil(leader!, elected.t + TTL / 2);
      const lostAt = Date.now();
      await redis.stop();
      const demoted = await waitForEvent(leader!, 'demoted');
      expect(demoted.reason).toMatch(/deadline passed/);
      expect(demoted.until).toBeLessThanOrEqual(lostAt + TTL - MARGIN);
      // The lease the others see lasts until at least lostAt + ttl: it stopped before that.
      expect(demoted.t).toBeLessThan(lostAt + TTL);

      await redis.start();
      const upAt = Date.now();
      // A newcomer on a free key waits until Redis has been up one ttl (it may have lost a lease).
      await withCandidates(['newcomer'], async ([newcomer]) => {
        const first = await waitForEvent(newcomer!, 'elected');
        expect(first.t - upAt).toBeGreaterThanOrEqual(TTL - 1000);
        expect(newcomer!.stderr.join('\n')).toContain('less than one lease ttl ago');
      });
      const again = await waitForEvent(leader!, 'elected', demoted.t);
      expect(again.token).toBeGreaterThan(elected.token!);
    }));
});

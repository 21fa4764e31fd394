import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { duplicate, type RedisClient as Redis } from '../redis.js';
import { acquireLease, leaseKeys, readLeader, redisUptimeMs, releaseLease, renewLease, type LeaseKeys } from './lease.js';
import { SingletonTask, type SingletonStart } from './singleton-task.js';
import type { Logger } from '../log.js';
import { followerDelay, leaseTiming, type LeaseTiming } from './timing.js';
import type { LeaderEvents, LeaderOptions, LeaderStatus } from './election-types.js';

export type { Demoted, Elected, LeaderEvents, LeaderOptions, LeaderStatus } from './election-types.js';

const STOPPING = 'stopping';

/**
 * Leader election over one Redis: whoever holds the lease key is the leader.
 *
 * SAFETY — no two leaders at once, even with a paused process or a lost Redis. Redis expires
 * the key no earlier than `ttl` after it ran our acquire/renew, which is after we SENT it. So
 * we measure the lease from `sentAt` (monotonic clock, taken before sending) and count
 * ourselves leader only until `deadline = sentAt + ttl − margin` (margin: clock-rate drift
 * between us and Redis, timer lateness, the time a singleton needs to stop). Nobody else can
 * acquire before the key expires, i.e. before `sentAt + ttl`, so our leadership ends first:
 * - a timer demotes us at the deadline if no renewal succeeded (Redis gone, slow, or the
 *   reply lost), stopping singleton work before anyone else can start it;
 * - `isLeader()` compares with the deadline on EVERY call instead of trusting a flag, because
 *   a process paused past its deadline (SIGSTOP, a long GC, a frozen VM) wakes up with that
 *   timer merely overdue, and its singleton code may run first: asking `isLeader()` tells it
 *   the truth and demotes it right there;
 * - a reply that arrives after its own deadline (it sat in a socket while we were paused)
 *   is never taken as leadership, and a renewal only extends a key that is still ours, so it
 *   never resurrects an expired lease that someone else may have taken meanwhile;
 * - a Redis that restarted may have lost the key (no persistence, or the last writes); then
 *   a follower could take it while the old leader's deadline is still ahead. So a free key is
 *   only taken from a Redis that has been up for at least one ttl (INFO uptime): by then
 *   every leader of before its restart has passed its deadline.
 *
 * LIMIT — the classic fencing problem: a process can check `isLeader()`, get true, be paused
 * past its deadline, then act. No local check closes that gap. For that, every acquisition
 * INCRs a counter: `fencingToken()`. Singleton work that writes somewhere should tag writes
 * with it and have the store reject a token lower than the highest it has seen. (If Redis
 * loses its data, the counter starts over: keep Redis persistent, as bouy's queue needs anyway.)
 */
export class LeaderElection extends EventEmitter<LeaderEvents> {
  readonly id: string;
  readonly timing: LeaseTiming;
  private readonly redis: Redis;
  private readonly keys: LeaseKeys;
  private readonly log: Logger;
  private readonly tasks = new Set<SingletonTask>();

  private state: 'idle' | 'follower' | 'leader' = 'idle';
  private stopping: Promise<void> | undefined;
  /** performance.now() until which we are leader. */
  private deadline = 0;
  private token: number | null = null;
  private attemptTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private wakeAfterAttempt = false;
  private subscriber: Redis | undefined;
  /** What we last logged as follower, so the log says it once, not every retry. */
  private lastSeen: string | undefined;

  constructor(options: LeaderOptions) {
    super();
    this.redis = options.redis;
    this.keys = leaseKeys(options.key);
    this.id = options.id;
    this.log = options.log;
    this.timing = leaseTiming(options.ttlMs, options.safetyMarginMs);
  }

  /** Starts competing: the first attempt is made at once. */
  start(): void {
    if (this.state !== 'idle' || this.stopping) return;
    this.state = 'follower';
    this.subscriber = duplicate(this.redis);
    this.subscriber.on('error', (error: Error) => this.log.debug({ err: error }, 'leader election: subscriber connection error'));
    this.subscriber.on('message', () => this.wake());
    this.subscriber.subscribe(this.keys.released).catch((error: unknown) => {
      this.log.warn({ err: error }, 'leader election: cannot subscribe to release notices; followers fall back to polling');
    });
    this.schedule(0);
  }

  /** True only while the lease is held AND its local deadline has not passed. */
  isLeader(): boolean {
    if (this.state !== 'leader') return false;
    if (performance.now() < this.deadline) return true;
    this.demote('lease deadline passed without a successful renewal');
    return false;
  }

  /** The fencing token of the current leadership, or null when not leader. */
  fencingToken(): number | null {
    return this.isLeader() ? this.token : null;
  }

  status(): LeaderStatus {
    const leader = this.isLeader();
    return {
      leader,
      id: this.id,
      fencingToken: leader ? this.token : null,
      leaseRemainingMs: leader ? Math.round(this.deadline - performance.now()) : null,
    };
  }

  /** The id of whoever holds the lease now, as Redis says. */
  leaderId(): Promise<string | null> {
    return readLeader(this.redis, this.keys.lease);
  }

  /**
   * Runs a singleton service while this process leads: `start` on every election, the stop
   * it returns on every demotion, and on `stop()` before the lease is released. Returns a
   * function that unregisters it (stopping it if it runs).
   */
  runWhileLeader(name: string, start: SingletonStart): () => Promise<void> {
    const task = new SingletonTask(name, start, this.log);
    this.tasks.add(task);
    if (this.state === 'leader' && this.token !== null) this.startTask(task, this.token);
    return async () => {
      if (!this.tasks.delete(task)) return;
      task.demoted();
      await task.idle();
    };
  }

  /**
   * Stops competing. A leader first stops its singleton services, THEN releases the lease
   * (compare-and-delete) and notifies the followers, so one takes over at once without ever
   * overlapping. Idempotent. If Redis does not answer within `ttl`, the lease simply expires.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.attemptTimer);
    const started = this.state !== 'idle';
    this.demote(STOPPING);
    this.state = 'idle';
    await Promise.all([...this.tasks].map((task) => task.idle()));
    if (started) {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.timing.ttlMs);
      });
      // Commands on one connection run in order, so this comes after any acquire in flight.
      const released = releaseLease(this.redis, this.keys, this.id).then(
        (done) => done && this.log.info({ leader_id: this.id }, 'leadership released'),
        (error: unknown) => this.log.warn({ err: error }, 'leader election: could not release the lease; it will expire'),
      );
      await Promise.race([released, gaveUp]);
      clearTimeout(timer);
    }
    this.subscriber?.disconnect();
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.attemptTimer);
    this.attemptTimer = setTimeout(() => void this.attempt(), Math.max(0, delayMs));
    this.attemptTimer.unref();
  }

  /** A release notice: try now, or right after the attempt in flight. */
  private wake(): void {
    if (this.state !== 'follower') return;
    if (this.inFlight) this.wakeAfterAttempt = true;
    else this.schedule(0);
  }

  /** One acquire (follower) or renew (leader); one at a time, each scheduling the next. */
  private async attempt(): Promise<void> {
    if (this.state === 'idle' || this.inFlight) return;
    this.inFlight = true;
    this.wakeAfterAttempt = false;
    let next: number;
    try {
      next = this.state === 'leader' ? await this.renew() : await this.acquire();
    } catch (error) {
      // The deadline timer, not this, is what demotes a leader that cannot reach Redis.
      this.log.warn({ err: error }, 'leader election: Redis command failed; trying again');
      next = this.timing.retryEveryMs;
    } finally {
      this.inFlight = false;
    }
    if (this.stopping) return;
    this.schedule(this.wakeAfterAttempt && this.state === 'follower' ? 0 : next);
  }

  private async renew(): Promise<number> {
    const sentAt = performance.now();
    const renewed = await renewLease(this.redis, this.keys, this.id, this.timing.ttlMs);
    // Demoted while the command was out (deadline, stop): the next attempt acquires anew.
    if (!this.isLeader()) return 0;
    if (!renewed) {
      this.demote('lease lost: the key expired or another process holds it');
      return 0;
    }
    this.extend(sentAt);
    return this.timing.renewEveryMs;
  }

  private async acquire(): Promise<number> {
    const uptime = await redisUptimeMs(this.redis);
    const mayTakeFree = uptime === null || uptime >= this.timing.ttlMs;
    const sentAt = performance.now();
    const result = await acquireLease(this.redis, this.keys, this.id, this.timing.ttlMs, mayTakeFree);
    if (this.state !== 'follower') return this.timing.retryEveryMs;
    if (result.acquired) {
      if (performance.now() - sentAt >= this.timing.validForMs) {
        // The reply took longer than the lease we may trust: not leader; the key is ours,
        // so the next attempt re-acquires it.
        this.log.warn({ reply_ms: Math.round(performance.now() - sentAt) }, 'leader election: acquired the lease too late to use it');
        return 0;
      }
      this.promote(result.token, sentAt);
      return this.timing.renewEveryMs;
    }
    const seen = result.holder ?? (mayTakeFree ? 'none' : 'guard');
    if (seen !== this.lastSeen) {
      this.lastSeen = seen;
      if (result.holder) this.log.info({ leader_id: result.holder }, `follower: ${result.holder} leads`);
      else if (!mayTakeFree) this.log.info({ redis_uptime_ms: uptime }, 'follower: Redis (re)started less than one lease ttl ago and may have lost the lease; waiting that long before taking it');
    }
    // Held: try when it expires. Free but Redis too young: when Redis is old enough.
    return followerDelay(this.timing, result.ttlLeftMs ?? (mayTakeFree ? null : this.timing.ttlMs - (uptime ?? 0)));
  }

  private promote(token: number, sentAt: number): void {
    this.state = 'leader';
    this.token = token;
    this.lastSeen = undefined;
    this.extend(sentAt);
    this.log.info({ leader_id: this.id, fencing_token: token, ttl_ms: this.timing.ttlMs }, 'elected leader: this process runs the singleton services');
    this.emit('elected', { fencingToken: token });
    for (const task of this.tasks) this.startTask(task, token);
  }

  private startTask(task: SingletonTask, token: number): void {
    task.elected(token, () => this.isLeader() && this.token === token);
  }

  /** A successful acquire/renew sent at `sentAt` makes us leader until `sentAt + validFor`. */
  private extend(sentAt: number): void {
    this.deadline = sentAt + this.timing.validForMs;
    this.armDeadlineTimer();
  }

  /** Demotes at the deadline; re-armed if it fires a fraction of a millisecond early. */
  private armDeadlineTimer(): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => {
      if (this.isLeader()) this.armDeadlineTimer();
    }, Math.max(1, this.deadline - performance.now() + 1));
    this.deadlineTimer.unref();
  }

  private demote(reason: string): void {
    if (this.state !== 'leader') return;
    const now = performance.now();
    const leaderUntil = Date.now() - Math.max(0, now - this.deadline);
    this.state = 'follower';
    this.token = null;
    clearTimeout(this.deadlineTimer);
    const level = reason === STOPPING ? 'info' : 'warn';
    this.log[level]({ leader_id: this.id, reason }, `demoted: ${reason}; singleton services stop`);
    for (const task of this.tasks) task.demoted();
    this.emit('demoted', { reason, leaderUntil });
  }
}

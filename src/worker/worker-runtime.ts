/**
 * The inside of one worker process: the BullMQ Workers of one supervisor slot (one per queue it
 * consumes), its processors' lifecycle, its registry entry and heartbeat, and its side of the
 * IPC conversation; each job's run is job-runs.ts. worker-process.ts is the process around it
 * (signals, exits).
 */
import { Worker, type Job } from 'bullmq';
import { sharedSettings, type Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { connect, registrySocketTimeoutMs, type RedisClient } from '../redis.js';
import { auditLostFetches } from './lost-fetch-audit.js';
import { within } from '../timeout.js';
import { Registry } from '../registry/registry.js';
import { WorkerRegistration } from '../registry/worker-registration.js';
import { WorkerHeartbeat } from './worker-heartbeat.js';
import type { RegistrationState } from '../registry/worker-registration.js';
import type { WorkerMessage } from '../ipc.js';
import { loadProcessors, type LoadedProcessor } from './load-processor.js';
import { RecycleLimits } from './recycle-limits.js';
import { PriorityCascade } from './priority-cascade.js';
import { WeightedOrder, type QueueOrder } from './weighted-order.js';
import { JobReport } from './job-report.js';
import { JobRuns } from './job-runs.js';
import { LOCK_LOST, LockWatch } from './lock-watch.js';
import { ErrorWatch } from './error-watch.js';
import { RedisErrorTally } from './redis-error-tally.js';
import { ProcessorLifecycle } from './processor-lifecycle.js';
import { supervisorGone, supervisorPid } from './supervisor-pid.js';
import { holdKeysOf, QueueHold } from './queue-hold.js';

/** Resolves once the message is handed to the channel (or at once when there is none). */
export function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}


/** Abort budget (well inside the supervisor's 3 s kill and the 5 s promise): close, fence, reclaim, unregister. */
const ABORT_CLOSE_MS = 400;
const ABORT_FENCE_MS = 300;
const ABORT_RECLAIM_MS = 1500;
const ABORT_FINISH_MS = 400;

export class WorkerRuntime {
  private readonly workers: Worker[] = [];
  /** Each BullMQ worker's own command connection (the one its fetches go through), for abort's fence. */
  private readonly fetchConnections: RedisClient[] = [];
  /** Each BullMQ worker's side of a processor's 429: the whole queue held, then released. */
  private readonly holds = new Map<Worker, QueueHold>();
  /** Each BullMQ worker's watch over the locks of its running jobs (see lock-watch.ts). */
  private readonly lockWatches = new Map<Worker, LockWatch>();
  private readonly cascade: QueueOrder;
  private readonly report: JobReport;
  private readonly runs: JobRuns;
  private state = 'starting';
  private readonly heartbeat: WorkerHeartbeat;
  /** BullMQ Worker errors: rate-limited lines, failing/recovered reports to the supervisor. */
  private readonly errors: ErrorWatch;
  /** Failed Redis commands by kind, sent to the supervisor once a second (bouy_redis_errors_total). */
  private readonly redisErrors = new RedisErrorTally((counts) => void send({ type: 'redis-errors', counts }));
  private errorTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private readonly redis;
  private readonly registration;
  private readonly registry;
  private readonly limits: RecycleLimits;
  /** Set once abort() began: a start still under way must not go on to register or fetch. */
  private aborting = false;
  private lifecycle: ProcessorLifecycle | undefined;

  constructor(
    private readonly config: Config,
    private readonly name: string,
    private readonly log: Logger,
    /** Lines logged so far; the start-up block is released once the supervisor has them all. */
    private readonly linesLogged: () => number,
  ) {
    this.limits = new RecycleLimits(config, log, () => this.runs.counters.completed + this.runs.counters.failed, () => this.stopping !== undefined, (reason, jobsDone, rssMb) => {
      void this.report.flush();
      void send({ type: 'recycle-request', reason, jobsDone, rssMb });
    });
    this.cascade = config.queueWeights
      ? new WeightedOrder(config.queueWeights, config.concurrency)
      : new PriorityCascade(config.queues.length > 1);
    this.report = new JobReport((report) => send({ type: 'report', ...report }), config.jobNameLimit);
    this.runs = new JobRuns({ config, log, report: this.report, limits: this.limits, holds: this.holds, lockWatches: this.lockWatches, send });
    this.errors = new ErrorWatch(log, (message) => void send(message));
    // Its registration and hand-backs must leave a half-open connection for a new one quickly.
    this.redis = connect(config.redis, { socketTimeout: registrySocketTimeoutMs(config.heartbeatSeconds) });
    this.redis.on('error', (error) => { this.redisErrors.count(error); this.log.warn({ err: error }, 'registry connection error'); });
    this.heartbeat = new WorkerHeartbeat(config.heartbeatSeconds * 1000, () => this.registrationState(), (message) => void send(message), () => {
      if (this.state === 'ready') this.limits.checkMemory();
    });
    this.heartbeat.watch(this.redis);
    this.registration = new WorkerRegistration(this.redis, config.keyPrefix, {
      name, pid: process.pid, host: config.hostname, queues: config.queues, startedAt: Date.now(), supervisor: supervisorPid(),
    });
    this.registry = new Registry(this.redis, config.keyPrefix, config.bullPrefix);
  }

  async start(): Promise<void> {
    this.log.info({ queues: this.config.queues, concurrency: this.config.concurrency }, 'loading processors');
    const processors = await loadProcessors(this.config.queues, this.config);
    this.lifecycle = new ProcessorLifecycle(this.config, processors, this.name, this.log, send);
    await this.lifecycle.start();
    for (const [rank, queue] of this.config.queues.entries()) {
      const worker = this.createWorker(queue, rank, processors.get(queue)!);
      this.cascade.add(worker);
      this.workers.push(worker);
    }
    // Registered before the first fetch: the BullMQ worker ids are how a dead worker's jobs
    // are found again, so none may be taken before they are on record.
    this.stillWanted();
    await this.registration.register(Object.fromEntries(this.workers.map((w) => [w.name, w.id])));
    this.log.info('registered in Redis');
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    // Checked again after the awaits: a worker orphaned meanwhile would fetch jobs that no
    // registration of a live supervisor's knows of once its entry is replaced (main() unregisters).
    this.stillWanted();
    // Told to be quiet while starting (a replacement in a quiet supervisor): never fetch at all.
    for (const worker of this.cascade.isHalted ? [] : this.workers) {
      worker.run().catch((error: unknown) => this.log.error({ err: error, queue: worker.name }, 'worker stopped with an error'));
    }
    this.state = this.cascade.isHalted ? 'quiet' : 'ready';
    // Ready is said before the first await: a job fetched at once whose processor blocks the
    // event loop (a poison job waiting when a replacement starts) must find this worker ready,
    // where the hang watchdog looks. Said after the first heartbeat's round trip, the worker
    // hung as 'starting', which the watchdog leaves alone: the job was never failed.
    const settings = this.effectiveSettings(processors);
    this.log.info({ settings, job_limit: Number.isFinite(this.limits.jobLimit) ? this.limits.jobLimit : null }, 'worker ready');
    void send({ type: 'ready', name: this.name, settings, lines: this.linesLogged() });
    this.heartbeat.start();
    this.errorTimer = setInterval(() => { this.errors.tick(); this.redisErrors.flush(); }, 1000);
    this.errorTimer.unref();
    this.limits.checkMemory();
  }

  /** What this worker actually runs with, for the verification banner. */
  private effectiveSettings(processors: Map<string, LoadedProcessor>): Record<string, unknown> {
    const settings: Record<string, unknown> = { ...sharedSettings(this.config), node: process.version };
    for (const [queue, processor] of processors) {
      if (processor.describe) settings[`processor:${queue}`] = processor.describe();
    }
    return settings;
  }

  /**
   * Throws when this worker must not go on starting: its supervisor died (a new one may be
   * starting a worker of the same name, whose registration would replace ours), or it was told
   * to stop while starting (a drain or abort before its first fetch).
   */
  private stillWanted(): void {
    if (this.aborting || this.stopping) throw new Error('told to stop while starting: not taking jobs');
    if (supervisorGone()) throw new Error('the supervisor died while this worker started: not taking jobs');
  }

  private createWorker(queue: string, rank: number, processor: LoadedProcessor): Worker {
    // Every job passes here: synchronous until the processor runs, one promise of ours after.
    const call = (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => (this.cascade.mustDefer(rank, token)
      ? this.cascade.defer(job, token!)
      : this.runs.run(worker, processor.process, job, token, signal));
    // BullMQ makes an AbortController for every job when the processor declares a third
    // parameter (3 % of a no-op job's CPU). Only a processor that takes the signal can honour
    // it; a timed-out job of one that does not still fails at its deadline (runWithDeadline).
    const connection = connect(this.config.redis);
    this.fetchConnections.push(connection);
    this.heartbeat.watch(connection);
    const worker: Worker = new Worker(queue, processor.process.length >= 3 ? call : (job, token) => call(job, token), {
      connection,
      prefix: this.config.bullPrefix,
      concurrency: this.config.concurrency,
      // No `limiter`: it would cost three commands per job (GET, HEXISTS, INCR) when no limit is
      // set. A processor's 429 arms the queue's meta for the hold instead (queue-hold.ts), and
      // QUEUE_RATE_LIMIT lives there too (queue-limits.ts).
      name: this.name,
      autorun: false,
      lockDuration: this.config.jobLockSeconds * 1000,
    });
    auditLostFetches(worker, connection, (jobId) => this.runs.runs(queue, jobId), this.log);
    this.holds.set(worker, new QueueHold(this.redis, holdKeysOf(worker), (error) => this.log.warn({ err: error, queue }, 'could not release the queue after a 429 hold; it costs commands per job until a supervisor starts')));
    this.lockWatches.set(worker, new LockWatch(worker, this.config.jobLockSeconds * 1000, (jobId, why) => {
      this.log.warn({ queue, jobId, why }, `job lock lost: ${why}; its AbortSignal fires (it may run again elsewhere)`);
      worker.cancelJob(jobId, LOCK_LOST);
    }));
    worker.on('error', (error) => { this.redisErrors.count(error); this.errors.record(queue, error); });
    worker.on('completed', (job) => this.runs.settle(queue, job, 'completed'));
    worker.on('failed', (job, error) => { if (job) this.runs.settle(queue, job, 'failed', error); });
    return worker;
  }

  /** What this worker's registration shows (its heartbeat carries it to the supervisor). */
  private registrationState(): RegistrationState {
    return { state: this.state, ...this.runs.counters, active: this.report.runningCount };
  }

  /** The supervisor found the registration gone (FLUSHALL, a prune): written again in full, unless on the way out. */
  async registerAgain(): Promise<void> {
    if (this.aborting || this.stopping || this.state === 'starting') return;
    await this.registration.registerAgain(this.registrationState()).catch((error: unknown) => {
      this.redisErrors.count(error);
      this.log.warn({ err: error }, 'could not register again');
    });
    this.log.info('registered in Redis again (the registration was gone)');
  }

  /** Take no new jobs, let the active ones finish, stay registered and beating (until drain). */
  quiet(): void {
    if (this.stopping || this.cascade.isHalted) return;
    this.cascade.halt();
    if (this.state === 'ready') this.state = 'quiet';
    this.log.info({ active: this.report.runningCount }, 'quiet: taking no new jobs');
    this.heartbeat.beat();
  }

  /** Stop taking jobs, let the active ones finish, unregister. Idempotent. */
  drain(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'draining';
      void send({ type: 'draining' });
      this.log.info({ active: this.report.runningCount }, 'draining: finishing active jobs');
      this.heartbeat.beat();
      await Promise.allSettled(this.workers.map((w) => w.close()));
      await this.lifecycle?.stop();
      // Bounded: a Redis that does not answer must not hold the drain (the meta stays armed then).
      await within(Promise.allSettled([...this.holds.values()].map((hold) => hold.close())), 1000, undefined);
      await this.finish();
      this.log.info({ ...this.runs.counters }, 'drained');
    })();
    return this.stopping;
  }

  /**
   * Stop now: the supervisor is gone or the drain deadline passed. Fetching stops first (so a
   * sibling cannot take back what we return), then every job locked by this worker's BullMQ
   * workers goes back to its queue by its lock token, so another worker runs it without
   * waiting for stall detection. Never waits on a graceful close: after an earlier `close()`
   * (a drain), BullMQ's `close(true)` returns that stored promise, which waits for the very
   * jobs we are giving up. Every step is bounded; main() also exits at ABORT_EXIT_MS whatever.
   *
   * Between the two, a fence. Siblings abort at the same moment (their supervisor died, or its
   * drain deadline passed), and what one returns wakes another's blocking fetch. BullMQ (6.7)
   * still sends that fetch's moveToActive after `close(true)` resolved, on a worker whose jobs
   * are still running (its main loop goes on for them; BullMQ #2212, "works as designed"), on
   * the worker's own connection, which BullMQ leaves open because it is ours. Landing after our
   * scan below, the job stayed active under a lock nobody renews, until stall detection (8-67 %
   * of SIGKILLed 3 x 4 fleets here, five runs). QUIT on that connection is the fence: Redis
   * answers it after every command sent before it and runs none sent after, so once it answers,
   * every job this worker will ever lock is locked, and the scan sees it.
   */
  async abort(reason: string): Promise<void> {
    this.aborting = true;
    this.log.warn({ active: this.report.runningCount, reason }, 'aborting: returning active jobs to their queues');
    const closing = Promise.allSettled(this.workers.map((w) => w.close(true)));
    // A forced close is quick (no job waited for); a fetch in flight lands meanwhile.
    await within(closing, ABORT_CLOSE_MS, undefined);
    await within(Promise.allSettled(this.fetchConnections.map((c) => c.quit())), ABORT_FENCE_MS, undefined);
    const ours = new Map(this.workers.map((w) => [w.name, new Set([w.id])]));
    const returned = this.registry.reclaimLockedBy(ours).catch((error: unknown) => {
      this.log.error({ err: error }, 'could not return active jobs; BullMQ stall detection will');
      return [];
    });
    await within(returned, ABORT_RECLAIM_MS, []);
    await within(this.finish(), ABORT_FINISH_MS, undefined);
  }

  private async finish(): Promise<void> {
    for (const watch of this.lockWatches.values()) watch.stop();
    await this.report.flush();
    this.heartbeat.stop();
    clearInterval(this.errorTimer);
    await this.registration.unregister().catch(() => {});
    this.redis.disconnect();
  }
}

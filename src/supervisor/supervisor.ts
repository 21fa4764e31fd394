import { EventEmitter } from 'node:events';
import type { DestinationStream } from 'pino';
import type { Config } from '../config/config.js';
import { startFailure } from '../errors.js';
import type { Logger } from '../log.js';
import { logReclaimed, type Registry } from '../registry/registry.js';
import { workerName } from '../registry/keys.js';
import { JobStatsByName } from './job-stats.js';
import { isWorkerMessage, type SupervisorMessage, type WorkerMessage } from '../ipc.js';
import type { SupervisorEvents, WorkerPool } from './pool.js';
import { decideRestart, describeExit, restartPolicyOf, type RestartPolicy } from './restart-policy.js';
import { PoolOperations } from './operations.js';
import { Shutdown } from './shutdown.js';
import { activeJobsOf, applyReport, newSlot, viewSlot, type Slot, type SlotView } from './slot.js';
import { becameReady, deadlineMet, draining, exited, forked, queueFailing, recycled, restartScheduled } from './slot-lifecycle.js';
import { startWatchdogs } from './watchdog.js';
import { logBanner, verifyWorkers, type Verification } from './verification.js';
import { WorkerOutput } from './worker-output.js';
import { forkWorker } from './fork-worker.js';
import { within } from '../timeout.js';
import { takePreforked } from './prefork.js';

/**
 * Keeps `workerCount` worker processes alive: forks them, restarts a dead one after the restart
 * delay (backing off in a crash loop), refills a recycled one at once, returns a dead worker's
 * jobs to their queues, changes the number of workers at run time, and drains them all on
 * shutdown (shutdown.ts). Slot states change only through slot-lifecycle.ts.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> implements WorkerPool {
  readonly slots: Slot[];
  readonly jobStats: JobStatsByName;
  private readonly policy: RestartPolicy;
  private readonly output: WorkerOutput;
  private readonly shutdown: Shutdown;
  private readonly operations: PoolOperations;
  private stopWatchdogs: (() => void) | undefined;
  private verification: Verification | undefined;
  /** Some worker has been ready since start: from then on a start-up failure is a crash. */
  private everReady = false;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    output: DestinationStream,
    private readonly registry: Registry,
  ) {
    super();
    this.jobStats = new JobStatsByName(config.jobNameLimit);
    this.slots = Array.from({ length: config.workerCount }, (_, i) => newSlot(i + 1, workerName(config.hostname, i + 1)));
    this.policy = restartPolicyOf(config);
    this.output = new WorkerOutput(output, log, (slot) => this.announceReady(slot));
    this.shutdown = new Shutdown({
      slots: () => this.slots,
      send: (slot, message) => this.send(slot, message),
      killAll: (signal) => this.killAll(signal),
      onStopping: () => {
        for (const slot of this.slots) clearTimeout(slot.restartTimer);
        this.emit('stopping');
      },
      onStopped: () => {
        this.stopWatchdogs?.();
        this.emit('stopped');
      },
    }, config.shutdownTimeoutSeconds * 1000, log);
    this.operations = new PoolOperations({
      slots: this.slots, config, log,
      stopping: () => this.stopping,
      spawn: (slot) => this.spawn(slot),
      send: (slot, message) => this.send(slot, message),
    });
    // Last resort if the supervisor itself crashes: no worker outlives it.
    process.once('exit', () => this.killAll('SIGKILL'));
  }

  get stopping(): boolean {
    return this.shutdown.started;
  }

  /** The shutdown was forced (drain deadline, second signal): the exit status says so. */
  get forced(): boolean {
    return this.shutdown.forced;
  }

  /** The latest start-up verification (undefined until every worker was first ready). */
  get lastVerification(): Verification | undefined {
    return this.verification;
  }

  /** Quiet (SIGTSTP, POST /admin/quiet, the fleet page): no new jobs until shutdown. */
  get isQuiet(): boolean {
    return this.operations.isQuiet;
  }

  /** Sidekiq's TSTP (operations.ts): no new jobs until shutdown; false when already quiet or stopping. */
  quiet(reason: string): boolean {
    const done = this.operations.quiet(reason);
    if (done) this.emit('quiet');
    return done;
  }

  start(): void {
    this.log.info({ workers: this.slots.length, queues: this.config.queues }, `starting ${this.slots.length} worker(s)`);
    for (const slot of this.slots) this.spawn(slot);
    this.stopWatchdogs = startWatchdogs(() => this.slots, this.config, this.log);
  }

  /** First call: drain every worker, deadline armed. A second call forces at once (shutdown.ts). */
  stop(reason: string): Promise<void> {
    return this.shutdown.begin(reason);
  }

  view(): SlotView[] {
    return this.slots.map((slot) => viewSlot(slot, Date.now()));
  }

  activeJobs(queue: string): number {
    return activeJobsOf(this.slots, queue);
  }

  jobsByName(): Record<string, unknown> {
    return this.jobStats.view();
  }

  readyCount(): number {
    return this.slots.filter((s) => s.state === 'ready').length;
  }

  private spawn(slot: Slot): void {
    if (this.stopping) return;
    const preforked = takePreforked(slot.index);
    const child = preforked ?? forkWorker(slot.name, slot.index);
    forked(slot, child);
    this.log.debug({ worker: slot.name, pid: child.pid }, 'worker process forked');
    if (this.isQuiet) this.send(slot, { type: 'quiet' }); // a replacement never takes a job either
    this.output.attach(slot, child);
    child.on('message', (message) => {
      if (isWorkerMessage(message)) this.onMessage(slot, message);
    });
    child.on('exit', (code, signal) => void this.onExit(slot, child.pid, code, signal));
    child.on('error', (error) => this.log.error({ worker: slot.name, err: error }, 'worker process error'));
    if (preforked) this.send(slot, { type: 'go' }); // it has loaded its modules meanwhile
  }

  /** A worker's start-up block is out: count it, and when all are ready, verify them (verification.ts). */
  private announceReady(slot: Slot): void {
    if (slot.state !== 'ready') return;
    this.log.info({ worker: slot.name, pid: slot.pid }, `Workers ready: ${this.readyCount()}/${this.slots.length}`);
    if (this.readyCount() < this.slots.length) return;
    this.emit('all-ready');
    const first = this.verification === undefined;
    this.verification = verifyWorkers(this.slots.map((s) => ({ name: s.name, settings: s.settings ?? {} })));
    this.emit('verified', this.verification);
    // The banner is for the first start and for any later start that disagrees.
    if (first || !this.verification.identical) logBanner(this.log, this.slots.length, this.verification);
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    slot.lastSeen = Date.now();
    switch (message.type) {
      case 'ready':
        becameReady(slot, this.isQuiet);
        this.everReady = true;
        slot.settings = message.settings;
        this.output.ready(slot, message.lines);
        break;
      case 'init-failed':
        this.log.error({ worker: slot.name, error: message.error }, 'worker failed to start');
        if (!this.everReady) {
          const fatal = startFailure(message);
          if (fatal) this.emit('fatal', fatal);
        }
        break;
      case 'check':
        slot.checks.set(message.queue, message);
        break;
      case 'timed-out':
        deadlineMet(slot, `${message.queue}:${message.jobId}`);
        break;
      case 'report':
        this.emit('jobs-reported', slot.name, applyReport(slot, this.jobStats, message));
        break;
      case 'job-deadline':
        slot.deadlines.set(`${message.queue}:${message.jobId}`, { at: Date.now() + message.timeoutMs, timeoutMs: message.timeoutMs });
        break;
      case 'recycle-request':
        this.operations.recycleRequested(slot, message.reason, message.jobsDone, message.rssMb);
        break;
      case 'draining':
        if (slot.state !== 'draining' && slot.state !== 'stopped') draining(slot);
        break;
      case 'alive': {
        const { type: _type, ...beat } = message;
        if (slot.beat?.state !== beat.state) this.emit('beat-changed', slot.name);
        slot.beat = { ...beat, at: slot.lastSeen };
        break;
      }
      case 'erroring':
        if (queueFailing(slot, message.queue, message.error, message.count)) {
          this.log.warn({ worker: slot.name, queue: message.queue, error: message.error }, `worker fails in a loop on queue ${message.queue}: health reports it`);
        }
        break;
      case 'recovered':
        slot.errors.delete(message.queue);
        break;
      case 'redis-errors':
        this.emit('redis-errors', message.counts);
        break;
    }
  }

  /**
   * A worker cut off from Redis that did not recover by itself (unreachable-workers.ts): killed
   * and replaced at once, as a recycle; its jobs go back without counting a kill (not theirs).
   */
  replaceUnreachable(slot: Slot, silentMs: number): void {
    if (!slot.child || this.stopping || (slot.departure?.kind === 'recycle' && slot.departure.killed)) return;
    this.log.error({ worker: slot.name, pid: slot.pid, silent_s: Math.round(silentMs / 1000) }, `worker has not reached Redis for ${Math.round(silentMs / 1000)} s while this supervisor does; replacing it`);
    draining(slot, { kind: 'recycle', reason: 'redis-unreachable', killed: true });
    slot.child.kill('SIGKILL');
  }

  recycle(target: number | 'all'): Promise<string[]> {
    return this.operations.recycle(target);
  }

  scaleTo(count: number): number {
    return this.operations.scaleTo(count);
  }

  scaleBy(change: number): number {
    return this.operations.scaleBy(change);
  }

  private async onExit(slot: Slot, pid: number | undefined, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const uptimeMs = Date.now() - (slot.startedAt ?? Date.now());
    this.output.detach(slot);
    // Clean only if we asked it to go (drain, recycle, removal, shutdown): a worker that exits on
    // its own — even with code 0, a processor calling process.exit — died mid-job like a crash.
    const clean = code === 0 && signal === null && (this.stopping || slot.departure !== undefined);
    this.jobStats.abandoned([...slot.running.values()].map((job) => job.name));
    exited(slot, describeExit(code, signal));
    const exit = slot.lastExit!;
    const departure = slot.departure;
    const killedForTimeout = departure?.kind === 'recycle' && departure.killed === true;
    // Always: a worker that drained or aborted unregistered itself (nothing to find); any other
    // exit left jobs locked by it. Kills count towards MAX_JOB_KILLS, except when we forced the
    // shutdown or killed for a timeout ourselves (not the jobs' doing; the timed-out one fails).
    await this.reclaim(slot, !this.shutdown.forced && !killedForTimeout);

    if (this.stopping) {
      this.log.info({ worker: slot.name, pid, exit }, 'worker stopped');
      this.emit('worker-exited', slot.name, 'stop', exit);
      this.shutdown.workerExited(slot);
      return;
    }
    if (departure?.kind === 'remove') {
      this.slots.splice(this.slots.indexOf(slot), 1);
      this.log.info({ worker: slot.name, pid, workers: this.slots.length }, 'worker removed');
      this.emit('worker-exited', slot.name, 'remove', exit);
      this.operations.removedSlotExited();
      return;
    }
    if (departure?.kind === 'recycle' && (clean || killedForTimeout)) {
      recycled(slot, departure.reason);
      this.log.info({ worker: slot.name, pid, reason: departure.reason }, 'worker recycled; starting its replacement now');
      this.emit('worker-exited', slot.name, 'recycle', departure.reason);
      this.spawn(slot);
      return;
    }
    this.emit('worker-exited', slot.name, 'crash', exit);
    const decision = decideRestart(this.policy, uptimeMs, slot.quickDeaths);
    const timer = setTimeout(() => {
      slot.restarts += 1;
      this.spawn(slot);
    }, decision.delayMs);
    restartScheduled(slot, decision, timer);
    const fields = { worker: slot.name, pid, exit, uptime_s: uptimeMs / 1000, restart_in_s: decision.delayMs / 1000 };
    if (decision.crashLoop) {
      this.log.error({ ...fields, quick_deaths: decision.quickDeaths }, `worker is crash-looping (${decision.quickDeaths} deaths within ${this.config.minUptimeSeconds}s of start); backing off`);
    } else {
      this.log.error(fields, `worker exited unexpectedly (${exit}); restarting in ${decision.delayMs / 1000}s`);
    }
  }

  /** Returns the jobs a dead worker held to their queues at once (poison jobs fail instead). */
  private async reclaim(slot: Slot, killed: boolean): Promise<void> {
    try {
      const reclaiming = this.registry.reclaim(slot.name, { ...(killed ? { maxKills: this.config.maxJobKills } : {}), timedOut: slot.timedOut, forkedBy: process.pid });
      // While stopping, Redis gets what is left of the shutdown's time and no more: a Redis that
      // never answers (a black-holed connection) must not hold the exit.
      const moved = this.stopping ? await within(reclaiming.then((jobs) => ({ jobs }), (error: unknown) => ({ error })), this.shutdown.timeLeftMs(), undefined) : { jobs: await reclaiming };
      if (moved && 'error' in moved) throw moved.error;
      if (moved === undefined) {
        this.log.error({ worker: slot.name }, 'could not return the dead worker\'s jobs before the shutdown deadline (Redis did not answer); their locks expire and BullMQ\'s stall check returns them');
        return;
      }
      logReclaimed(this.log, { worker: slot.name }, moved.jobs, 'of the dead worker');
    } catch (error) {
      this.log.error({ worker: slot.name, err: error }, 'could not return the dead worker\'s jobs; BullMQ stall detection will');
    }
  }

  /** The named worker's registration is gone from Redis: it writes it again (only it knows its BullMQ ids). */
  registerAgain(name: string): void {
    const slot = this.slots.find((s) => s.name === name);
    if (slot) this.send(slot, { type: 'register' });
  }

  private send(slot: Slot, message: SupervisorMessage): void {
    if (slot.child?.connected) slot.child.send(message, (error) => {
      if (error) this.log.debug({ worker: slot.name, err: error }, 'could not message worker');
    });
  }

  private killAll(signal: NodeJS.Signals): void {
    for (const slot of this.slots) {
      if (slot.child && slot.child.exitCode === null && slot.child.signalCode === null) slot.child.kill(signal);
    }
  }
}

import { EventEmitter } from 'node:events';
import type { DestinationStream } from 'pino';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Registry } from '../registry/registry.js';
import type { BeatingWorker } from '../registry/container-heartbeat.js';
import { workerName } from '../registry/keys.js';
import { JobStatsByName } from './job-stats.js';
import { isWorkerMessage, type SupervisorMessage } from '../ipc.js';
import type { SupervisorEvents, WorkerPool } from './pool.js';
import { decideRestart, restartPolicyOf, type RestartPolicy } from './restart-policy.js';
import { PoolOperations } from './operations.js';
import { Shutdown } from './shutdown.js';
import { activeJobsOf, newSlot, runningJobsOf, viewSlot, type Departure, type RunningJobView, type Slot, type SlotView } from './slot.js';
import { exitKind, forked, recycled, restartDue, restartScheduled, workerGone, type WorkerExit } from './slot-lifecycle.js';
import { SlotTable } from './slot-table.js';
import { startWatchdogs } from './watchdog.js';
import { logBanner, verifyWorkers, type Verification } from './verification.js';
import { WorkerOutput } from './worker-output.js';
import { forkWorker } from './fork-worker.js';
import { WorkerMessages } from './worker-messages.js';
import { returnJobsOf } from './dead-worker-jobs.js';
import { takePreforked } from './prefork.js';

/**
 * Keeps `workerCount` worker processes alive: forks them, restarts a dead one after the restart
 * delay (backing off in a crash loop), refills a recycled one at once, returns a dead worker's
 * jobs to their queues, changes the number of workers at run time, and drains them all on
 * shutdown (shutdown.ts). Its slots are its own (slot-table.ts): their states and fields change
 * only through slot-lifecycle.ts (its workers' messages: worker-messages.ts), and the rest of
 * the process sees them through WorkerPool (pool.ts).
 */
export class Supervisor extends EventEmitter<SupervisorEvents> implements WorkerPool {
  private readonly slots: SlotTable;
  private readonly jobStats: JobStatsByName;
  private readonly policy: RestartPolicy;
  private readonly output: WorkerOutput;
  private readonly shutdown: Shutdown;
  private readonly operations: PoolOperations;
  private stopWatchdogs: (() => void) | undefined;
  private readonly messages: WorkerMessages;
  private verification: Verification | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    output: DestinationStream,
    private readonly registry: Registry,
  ) {
    super();
    this.jobStats = new JobStatsByName(config.jobNameLimit);
    this.slots = new SlotTable(Array.from({ length: config.workerCount }, (_, i) => newSlot(i + 1, workerName(config.hostname, i + 1))));
    this.policy = restartPolicyOf(config);
    this.output = new WorkerOutput(output, log, (slot) => this.announceReady(slot));
    this.shutdown = new Shutdown({
      slots: () => this.slots.all(),
      send: (slot, message) => this.send(slot, message),
      killAll: (signal) => this.killAll(signal),
      onStopping: () => {
        for (const slot of this.slots.all()) clearTimeout(slot.restartTimer);
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
    this.messages = new WorkerMessages({ log, jobStats: this.jobStats, output: this.output, operations: this.operations, events: this });
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
    this.log.info({ workers: this.slots.size, queues: this.config.queues }, `starting ${this.slots.size} worker(s)`);
    for (const slot of this.slots.all()) this.spawn(slot);
    this.stopWatchdogs = startWatchdogs({ slots: () => this.slots.all(), stopping: () => this.stopping, registry: this.registry }, this.config, this.log);
  }

  /** First call: drain every worker, deadline armed. A second call forces at once (shutdown.ts). */
  stop(reason: string): Promise<void> {
    return this.shutdown.begin(reason);
  }

  view(): SlotView[] {
    return this.slots.all().map((slot) => viewSlot(slot));
  }

  runningJobs(worker: string): RunningJobView[] {
    return runningJobsOf(this.slots.byName(worker));
  }

  staying(): SlotView[] {
    return this.slots.staying().map((slot) => viewSlot(slot));
  }

  activeJobs(queue: string): number {
    return activeJobsOf(this.slots.all(), queue);
  }

  jobsByName(): Record<string, unknown> {
    return this.jobStats.view();
  }

  private readyCount(): number {
    return this.slots.all().filter((s) => s.state === 'ready').length;
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
      if (isWorkerMessage(message)) this.messages.handle(slot, message);
    });
    child.on('exit', (code, signal) => void this.onExit(slot, child.pid, code, signal));
    child.on('error', (error) => this.log.error({ worker: slot.name, err: error }, 'worker process error'));
    if (preforked) this.send(slot, { type: 'go' }); // it has loaded its modules meanwhile
  }

  /** A worker's start-up block is out: count it, and when all are ready, verify them (verification.ts). */
  private announceReady(slot: Slot): void {
    if (slot.state !== 'ready') return;
    this.log.info({ worker: slot.name, pid: slot.pid }, `Workers ready: ${this.readyCount()}/${this.slots.size}`);
    if (this.readyCount() < this.slots.size) return;
    this.emit('all-ready');
    const first = this.verification === undefined;
    this.verification = verifyWorkers(this.slots.all().map((s) => ({ name: s.name, settings: s.settings ?? {} })));
    this.emit('verified', this.verification);
    // The banner is for the first start and for any later start that disagrees.
    if (first || !this.verification.identical) logBanner(this.log, this.slots.size, this.verification);
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

  /**
   * A worker process ended: what it was is taken at once (workerGone), its jobs go back, then
   * what follows is decided (exitKind) and done — counted by the shutdown, the slot removed,
   * refilled at once, or restarted after the policy's delay.
   */
  private async onExit(slot: Slot, pid: number | undefined, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.output.detach(slot);
    this.jobStats.abandoned([...slot.running.values()].map((job) => job.name));
    const gone = workerGone(slot, code, signal, this.stopping);
    // Always: a worker that drained or aborted unregistered itself (nothing to find); any other
    // exit left jobs locked by it. Kills count towards MAX_JOB_KILLS, except when we forced the
    // shutdown or killed for a timeout ourselves (not the jobs' doing; the timed-out one fails).
    const countsKills = !this.shutdown.forced && !gone.killedForTimeout;
    const timeLeftMs = this.stopping ? this.shutdown.timeLeftMs() : undefined;
    await returnJobsOf(slot, { registry: this.registry, log: this.log, maxKills: countsKills ? this.config.maxJobKills : undefined, timeLeftMs });
    const kind = exitKind(gone, this.stopping);
    switch (kind) {
      case 'stop':
        this.log.info({ worker: slot.name, pid, exit: gone.exit }, 'worker stopped');
        this.emit('worker-exited', slot.name, kind, gone.exit);
        this.shutdown.workerExited(slot);
        return;
      case 'remove':
        this.slots.remove(slot);
        this.log.info({ worker: slot.name, pid, workers: this.slots.size }, 'worker removed');
        this.emit('worker-exited', slot.name, kind, gone.exit);
        this.operations.removedSlotExited();
        return;
      case 'recycle': {
        const { reason } = gone.departure as Extract<Departure, { kind: 'recycle' }>;
        recycled(slot, reason);
        this.log.info({ worker: slot.name, pid, reason }, 'worker recycled; starting its replacement now');
        this.emit('worker-exited', slot.name, kind, reason);
        this.spawn(slot);
        return;
      }
      case 'crash':
        this.emit('worker-exited', slot.name, kind, gone.exit);
        this.restartLater(slot, pid, gone);
    }
  }

  /** A crashed worker is started again after the restart policy's delay, longer in a crash loop. */
  private restartLater(slot: Slot, pid: number | undefined, gone: WorkerExit): void {
    const decision = decideRestart(this.policy, gone.uptimeMs, slot.quickDeaths);
    const timer = setTimeout(() => {
      restartDue(slot);
      this.spawn(slot);
    }, decision.delayMs);
    restartScheduled(slot, decision, timer);
    const fields = { worker: slot.name, pid, exit: gone.exit, uptime_s: gone.uptimeMs / 1000, restart_in_s: decision.delayMs / 1000 };
    if (decision.crashLoop) {
      this.log.error({ ...fields, quick_deaths: decision.quickDeaths }, `worker is crash-looping (${decision.quickDeaths} deaths within ${this.config.minUptimeSeconds}s of start); backing off`);
    } else {
      this.log.error(fields, `worker exited unexpectedly (${gone.exit}); restarting in ${decision.delayMs / 1000}s`);
    }
  }

  /** The named worker's registration is gone from Redis: it writes it again (only it knows its BullMQ ids). */
  registerAgain(name: string): void {
    const slot = this.slots.byName(name);
    if (slot) this.send(slot, { type: 'register' });
  }

  /** The live workers and their last beats: what the container heartbeat writes (container-heartbeat.ts). */
  beatingWorkers(): BeatingWorker[] {
    return this.slots.all().flatMap((s) => (s.child && s.pid && s.beat ? [{ name: s.name, pid: s.pid, beat: s.beat }] : []));
  }

  private send(slot: Slot, message: SupervisorMessage): void {
    if (slot.child?.connected) slot.child.send(message, (error) => {
      if (error) this.log.debug({ worker: slot.name, err: error }, 'could not message worker');
    });
  }

  private killAll(signal: NodeJS.Signals): void {
    for (const slot of this.slots.all()) {
      if (slot.child && slot.child.exitCode === null && slot.child.signalCode === null) slot.child.kill(signal);
    }
  }
}

import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { logReclaimed, type Registry } from '../registry/registry.js';
import { workerName } from '../registry/keys.js';
import { countFinish, countStart, JobStatsByName } from './job-stats.js';
import { isWorkerMessage, type JobEvent, type SupervisorMessage, type WorkerMessage } from './messages.js';
import { decideRecycle, type RecycleReason } from './recycle-policy.js';
import { decideRestart, describeExit, type RestartPolicy } from './restart-policy.js';
import { newSlot, viewSlot, type Slot, type SlotView } from './slot.js';
import { StartupBlock } from './startup-blocks.js';
import { bannerLines, verifyWorkers, type Verification } from './verification.js';

const WORKER_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'worker', 'worker-process.js');
/** After asking a worker to abort, how long before it is killed outright. */
const ABORT_GRACE_MS = 3000;
export const MAX_WORKERS = 20;

export type ExitKind = 'crash' | 'recycle' | 'stop' | 'remove';

export interface SupervisorEvents {
  /** Every slot reported ready (first time, and again after recovering). */
  'all-ready': [];
  /** Shutdown began: workers are draining. */
  stopping: [];
  /** Every worker has exited after shutdown. */
  stopped: [];
  'job-started': [slot: Slot, queue: string, jobName: string];
  'job-finished': [slot: Slot, queue: string, jobName: string, outcome: 'completed' | 'failed', durationMs: number];
  'worker-exited': [slot: Slot, kind: ExitKind, detail: string];
  verified: [verification: Verification];
}

/**
 * Keeps `workerCount` worker processes alive: forks them, relays their log lines whole (start-up
 * lines as one block per worker), restarts a dead one after the restart delay (backing off in a
 * crash loop), refills a recycled one at once, returns a dead worker's jobs to their queues,
 * changes the number of workers at run time, and drains them all on shutdown.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly slots: Slot[];
  readonly jobStats: JobStatsByName;
  private readonly policy: RestartPolicy;
  private readonly blocks = new Map<Slot, StartupBlock>();
  private shutdown: Promise<void> | undefined;
  private forced = false;
  private deadline: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private verification: Verification | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly output: DestinationStream,
    private readonly registry: Registry,
  ) {
    super();
    this.jobStats = new JobStatsByName(config.jobNameLimit);
    this.slots = Array.from({ length: config.workerCount }, (_, i) => newSlot(i + 1, workerName(config.hostname, i + 1)));
    this.policy = {
      restartDelayMs: config.restartDelaySeconds * 1000,
      minUptimeMs: config.minUptimeSeconds * 1000,
      crashLoopThreshold: config.crashLoopThreshold,
      crashLoopMaxDelayMs: config.crashLoopMaxDelaySeconds * 1000,
    };
    // Last resort if the supervisor itself crashes: no worker outlives it.
    process.once('exit', () => this.killAll('SIGKILL'));
  }

  get stopping(): boolean {
    return this.shutdown !== undefined;
  }

  /** The latest start-up verification (undefined until every worker was first ready). */
  get lastVerification(): Verification | undefined {
    return this.verification;
  }

  start(): void {
    this.log.info({ workers: this.slots.length, queues: this.config.queues }, `starting ${this.slots.length} worker(s)`);
    for (const slot of this.slots) this.spawn(slot);
    if (this.config.hangTimeoutSeconds > 0) {
      const every = Math.min(this.config.heartbeatSeconds, this.config.hangTimeoutSeconds / 2) * 1000;
      this.watchdog = setInterval(() => this.killHung(), every);
      this.watchdog.unref();
    }
  }

  /**
   * A ready worker that has sent nothing for WORKER_HANG_TIMEOUT_SECONDS has a stuck event loop
   * (a synchronous loop, a deadlocked native call): it renews no locks and takes no jobs. It is
   * killed; its exit is handled like any crash (jobs returned, slot restarted after the delay).
   */
  private killHung(): void {
    const limit = this.config.hangTimeoutSeconds * 1000;
    const now = Date.now();
    for (const slot of this.slots) {
      if (!slot.child || slot.state !== 'ready' || now - slot.lastSeen <= limit) continue;
      this.log.error({ worker: slot.name, pid: slot.pid, silent_s: Math.round((now - slot.lastSeen) / 1000) }, `worker unresponsive for over ${this.config.hangTimeoutSeconds}s (event loop stuck); killing it`);
      slot.child.kill('SIGKILL');
      slot.lastSeen = now; // one kill per hang, not one per tick while it dies
    }
  }

  view(): SlotView[] {
    const now = Date.now();
    return this.slots.map((slot) => viewSlot(slot, now));
  }

  readyCount(): number {
    return this.slots.filter((s) => s.state === 'ready').length;
  }

  private spawn(slot: Slot): void {
    slot.restartTimer = undefined;
    slot.nextStartAt = undefined;
    slot.departure = undefined;
    if (this.stopping) return;
    const child = fork(WORKER_ENTRY, [], {
      env: { ...process.env, WORKER_NAME: slot.name, WORKER_INDEX: String(slot.index) },
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    slot.child = child;
    slot.pid = child.pid;
    slot.startedAt = Date.now();
    slot.lastSeen = slot.startedAt;
    slot.state = 'starting';
    slot.running.clear();
    slot.errors.clear();
    slot.recycleRefused = undefined;
    this.log.debug({ worker: slot.name, pid: child.pid }, 'worker process forked');

    const block = new StartupBlock((lines) => this.releaseBlock(slot, lines));
    this.blocks.set(slot, block);
    // Each line is written whole, so lines from different workers never mix mid-line.
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!block.hold(line)) this.output.write(`${line}\n`);
    });
    readline.createInterface({ input: child.stderr! }).on('line', (line) => this.log.warn({ worker: slot.name, stderr: line }, 'worker stderr'));
    child.on('message', (message) => {
      if (isWorkerMessage(message)) this.onMessage(slot, message);
    });
    child.on('exit', (code, signal) => void this.onExit(slot, child.pid, code, signal));
    child.on('error', (error) => this.log.error({ worker: slot.name, err: error }, 'worker process error'));
  }

  private releaseBlock(slot: Slot, lines: string[]): void {
    this.log.info({ worker: slot.name, pid: slot.pid }, 'worker process started');
    for (const line of lines) this.output.write(`${line}\n`);
    if (slot.state === 'ready') {
      this.log.info({ worker: slot.name, pid: slot.pid }, `Workers ready: ${this.readyCount()}/${this.slots.length}`);
      if (this.readyCount() === this.slots.length) this.allReady();
    }
  }

  private allReady(): void {
    this.emit('all-ready');
    const reports = this.slots.map((s) => ({ name: s.name, settings: s.settings ?? {} }));
    const verification = verifyWorkers(reports);
    const first = this.verification === undefined;
    this.verification = verification;
    this.emit('verified', verification);
    // The banner is for the first start and for any later start that disagrees.
    if (!first && verification.identical) return;
    // The text lists the settings once; repeating them as fields printed the banner twice in
    // pretty logs (and doubled the JSON line). /health's `verification` has the structured form.
    const fields = { identical: verification.identical, mismatched: verification.mismatches.length };
    const text = bannerLines(this.slots.length, verification).join('\n');
    if (verification.identical) this.log.info(fields, text);
    else this.log.warn(fields, text);
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    slot.lastSeen = Date.now();
    switch (message.type) {
      case 'ready':
        if (slot.state === 'starting') slot.state = 'ready';
        slot.settings = message.settings;
        this.blocks.get(slot)?.ready(message.lines);
        break;
      case 'init-failed':
        this.log.error({ worker: slot.name, error: message.error }, 'worker failed to start');
        break;
      case 'jobs':
        for (const event of message.events) this.onJobEvent(slot, event);
        break;
      case 'recycle-request':
        this.onRecycleRequest(slot, message.reason, message.jobsDone, message.rssMb);
        break;
      case 'draining':
        slot.state = 'draining';
        break;
      case 'alive':
        break;
      case 'erroring': {
        const known = slot.errors.get(message.queue);
        if (!known) this.log.warn({ worker: slot.name, queue: message.queue, error: message.error }, `worker fails in a loop on queue ${message.queue}: health reports it`);
        slot.errors.set(message.queue, { error: message.error, count: message.count, since: known?.since ?? Date.now() });
        break;
      }
      case 'recovered':
        slot.errors.delete(message.queue);
        break;
    }
  }

  private onJobEvent(slot: Slot, event: JobEvent): void {
    if (event.kind === 'started') {
      slot.running.set(`${event.queue}:${event.jobId}`, event.jobName);
      countStart(slot.jobs);
      this.jobStats.started(event.jobName);
      this.emit('job-started', slot, event.queue, event.jobName);
      return;
    }
    slot.running.delete(`${event.queue}:${event.jobId}`);
    countFinish(slot.jobs, event.outcome, event.durationMs);
    this.jobStats.finished(event.jobName, event.outcome, event.durationMs);
    this.emit('job-finished', slot, event.queue, event.jobName, event.outcome, event.durationMs);
  }

  private onRecycleRequest(slot: Slot, reason: RecycleReason, jobsDone: number, rssMb: number): void {
    const decision = decideRecycle(reason, jobsDone, rssMb, this.config.maxMemoryMb);
    if (!decision.recycle) {
      slot.recycleRefused = decision.why;
      this.log.error({ worker: slot.name, reason, rss_mb: rssMb }, `recycle refused: ${decision.why}`);
      return;
    }
    this.recycleSlot(slot, reason, { jobs_done: jobsDone, rss_mb: rssMb });
  }

  /** Drains one worker and refills its slot at once when it has exited. */
  private recycleSlot(slot: Slot, reason: RecycleReason, fields: Record<string, unknown> = {}): boolean {
    if (!slot.child || slot.departure || this.stopping) return false;
    slot.departure = { kind: 'recycle', reason };
    slot.state = 'draining';
    this.log.info({ worker: slot.name, reason, ...fields }, `recycling worker (${reason}): finishing its active jobs first`);
    this.send(slot, { type: 'drain' });
    return true;
  }

  /**
   * Recycles one worker (by index) or all of them. All is rolling: the next worker is recycled
   * only once the previous slot's replacement is ready, so capacity never drops by more than one.
   */
  async recycle(target: number | 'all'): Promise<string[]> {
    const slots = target === 'all' ? [...this.slots] : this.slots.filter((s) => s.index === target);
    const recycled: string[] = [];
    for (const slot of slots) {
      if (!this.recycleSlot(slot, 'manual')) continue;
      recycled.push(slot.name);
      if (target === 'all') await this.untilReady(slot);
    }
    return recycled;
  }

  private untilReady(slot: Slot): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const gone = !this.slots.includes(slot) || this.stopping;
        if (gone || (slot.state === 'ready' && !slot.departure)) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(check, 50);
    });
  }

  /**
   * Changes the number of workers at run time (Gunicorn's TTIN/TTOU). Growing forks new slots;
   * shrinking drains the highest-numbered ones, never cutting a job off.
   */
  scaleTo(count: number): number {
    const target = Math.max(1, Math.min(MAX_WORKERS, Math.round(count)));
    const staying = this.slots.filter((s) => s.departure?.kind !== 'remove');
    if (this.stopping || target === staying.length) return staying.length;
    if (target > staying.length) {
      const used = new Set(this.slots.map((s) => s.index));
      let index = 1;
      for (let added = 0; added < target - staying.length; added += 1) {
        while (used.has(index)) index += 1;
        used.add(index);
        const slot = newSlot(index, workerName(this.config.hostname, index));
        this.slots.push(slot);
        this.slots.sort((a, b) => a.index - b.index);
        this.spawn(slot);
      }
    } else {
      for (const slot of staying.slice(target).reverse()) this.removeSlot(slot);
    }
    this.log.info({ workers: target }, `scaling to ${target} worker(s)`);
    return target;
  }

  /** One more (+1) or one fewer (-1) worker than now, ignoring slots already being removed. */
  scaleBy(change: number): number {
    return this.scaleTo(this.slots.filter((s) => s.departure?.kind !== 'remove').length + change);
  }

  private removeSlot(slot: Slot): void {
    clearTimeout(slot.restartTimer);
    slot.departure = { kind: 'remove' };
    if (!slot.child) {
      this.slots.splice(this.slots.indexOf(slot), 1);
      return;
    }
    slot.state = 'draining';
    this.send(slot, { type: 'drain' });
  }

  private async onExit(slot: Slot, pid: number | undefined, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const uptimeMs = Date.now() - (slot.startedAt ?? Date.now());
    this.blocks.get(slot)?.flush();
    this.blocks.delete(slot);
    slot.child = undefined;
    slot.lastExit = describeExit(code, signal);
    // Clean only if we asked it to go (drain, recycle, removal, shutdown): a worker that exits on
    // its own — even with code 0, a processor calling process.exit — died mid-job like a crash.
    const clean = code === 0 && signal === null && (this.stopping || slot.departure !== undefined);
    this.jobStats.abandoned([...slot.running.values()]);
    slot.jobs.active = 0;
    slot.running.clear();
    slot.errors.clear();
    // Always: a worker that drained or aborted unregistered itself (nothing to find); any other
    // exit left jobs locked by it. Kills count towards MAX_JOB_KILLS, except when we forced the
    // shutdown ourselves (those stragglers were stopped, not killed by their job).
    await this.reclaim(slot, !this.forced);

    if (this.stopping) {
      slot.state = 'stopped';
      this.log.info({ worker: slot.name, pid, exit: slot.lastExit }, 'worker stopped');
      this.emit('worker-exited', slot, 'stop', slot.lastExit);
      if (this.slots.every((s) => s.child === undefined)) this.finishShutdown();
      return;
    }
    const departure = slot.departure;
    if (departure?.kind === 'remove') {
      this.slots.splice(this.slots.indexOf(slot), 1);
      this.log.info({ worker: slot.name, pid, workers: this.slots.length }, 'worker removed');
      this.emit('worker-exited', slot, 'remove', slot.lastExit);
      return;
    }
    if (departure?.kind === 'recycle' && clean) {
      slot.recycles[departure.reason] = (slot.recycles[departure.reason] ?? 0) + 1;
      this.log.info({ worker: slot.name, pid, reason: departure.reason }, 'worker recycled; starting its replacement now');
      this.emit('worker-exited', slot, 'recycle', departure.reason);
      this.spawn(slot);
      return;
    }
    this.emit('worker-exited', slot, 'crash', slot.lastExit);
    const decision = decideRestart(this.policy, uptimeMs, slot.quickDeaths);
    slot.quickDeaths = decision.quickDeaths;
    slot.state = decision.crashLoop ? 'crash-loop' : 'restarting';
    slot.nextStartAt = Date.now() + decision.delayMs;
    const fields = { worker: slot.name, pid, exit: slot.lastExit, uptime_s: uptimeMs / 1000, restart_in_s: decision.delayMs / 1000 };
    if (decision.crashLoop) {
      this.log.error({ ...fields, quick_deaths: decision.quickDeaths }, `worker is crash-looping (${decision.quickDeaths} deaths within ${this.config.minUptimeSeconds}s of start); backing off`);
    } else {
      this.log.error(fields, `worker exited unexpectedly (${slot.lastExit}); restarting in ${decision.delayMs / 1000}s`);
    }
    slot.restartTimer = setTimeout(() => {
      slot.restarts += 1;
      this.spawn(slot);
    }, decision.delayMs);
  }

  /** Returns the jobs a dead worker held to their queues at once (poison jobs fail instead). */
  private async reclaim(slot: Slot, killed: boolean): Promise<void> {
    try {
      const moved = await this.registry.reclaim(slot.name, killed ? { maxKills: this.config.maxJobKills } : {});
      logReclaimed(this.log, { worker: slot.name }, moved, 'of the dead worker');
    } catch (error) {
      this.log.error({ worker: slot.name, err: error }, 'could not return the dead worker\'s jobs; BullMQ stall detection will');
    }
  }

  /**
   * First call: stop restarts, ask every worker to drain, force the stragglers at the
   * deadline. A second call forces at once. Resolves when every worker has exited.
   */
  stop(reason: string): Promise<void> {
    if (this.shutdown) {
      this.force(`${reason} (second request)`);
      return this.shutdown;
    }
    this.shutdown = new Promise<void>((resolve) => this.once('stopped', resolve));
    this.emit('stopping');
    const live = this.slots.filter((s) => s.child);
    this.log.info({ reason, workers: live.length, timeout_s: this.config.shutdownTimeoutSeconds }, 'shutting down: draining workers');
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      slot.nextStartAt = undefined;
      if (slot.child) {
        slot.state = 'draining';
        this.send(slot, { type: 'drain' });
      } else {
        slot.state = 'stopped';
      }
    }
    if (live.length === 0) {
      queueMicrotask(() => this.finishShutdown());
    } else {
      this.deadline = setTimeout(() => this.force('drain deadline passed'), this.config.shutdownTimeoutSeconds * 1000);
    }
    return this.shutdown;
  }

  /** Stragglers give their jobs back and exit; the ones that do not are killed. */
  private force(reason: string): void {
    if (this.forced) return;
    this.forced = true;
    const live = this.slots.filter((s) => s.child);
    this.log.warn({ reason, workers: live.map((s) => s.name) }, 'forcing shutdown: active jobs go back to their queues');
    for (const slot of live) this.send(slot, { type: 'abort' });
    setTimeout(() => this.killAll('SIGKILL'), ABORT_GRACE_MS).unref();
  }

  private finishShutdown(): void {
    clearTimeout(this.deadline);
    clearInterval(this.watchdog);
    this.log.info('all workers stopped');
    this.emit('stopped');
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

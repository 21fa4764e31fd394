import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Registry } from '../registry/registry.js';
import { workerName } from '../registry/keys.js';
import { isWorkerMessage, type SupervisorMessage, type WorkerMessage } from './messages.js';
import { decideRestart, describeExit, type RestartPolicy } from './restart-policy.js';
import { newSlot, viewSlot, type Slot, type SlotView } from './slot.js';

const WORKER_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'worker', 'worker-process.js');
/** After asking a worker to abort, how long before it is killed outright. */
const ABORT_GRACE_MS = 3000;

export interface SupervisorEvents {
  /** Every slot reported ready (first time, and again after recovering). */
  'all-ready': [];
  /** Every worker has exited after shutdown. */
  stopped: [];
}

/**
 * Keeps `workerCount` worker processes alive: forks them, relays their log lines whole,
 * restarts a dead one after the restart delay (backing off in a crash loop), returns a dead
 * worker's jobs to their queues, and drains them all on shutdown.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly slots: Slot[];
  private readonly policy: RestartPolicy;
  private shutdown: Promise<void> | undefined;
  private forced = false;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly output: DestinationStream,
    private readonly registry: Registry,
  ) {
    super();
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

  start(): void {
    this.log.info({ workers: this.config.workerCount, queues: this.config.queues }, `starting ${this.config.workerCount} worker(s)`);
    for (const slot of this.slots) this.spawn(slot);
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
    if (this.stopping) return;
    const child = fork(WORKER_ENTRY, [], {
      env: { ...process.env, WORKER_NAME: slot.name, WORKER_INDEX: String(slot.index) },
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    slot.child = child;
    slot.pid = child.pid;
    slot.startedAt = Date.now();
    slot.state = 'starting';
    slot.active = 0;
    this.log.info({ worker: slot.name, pid: child.pid }, 'worker process started');

    // Each line is written whole, so lines from different workers never mix mid-line.
    readline.createInterface({ input: child.stdout! }).on('line', (line) => this.output.write(`${line}\n`));
    readline.createInterface({ input: child.stderr! }).on('line', (line) => this.log.warn({ worker: slot.name, stderr: line }, 'worker stderr'));
    child.on('message', (message) => {
      if (isWorkerMessage(message)) this.onMessage(slot, message);
    });
    child.on('exit', (code, signal) => void this.onExit(slot, child.pid, code, signal));
    child.on('error', (error) => this.log.error({ worker: slot.name, err: error }, 'worker process error'));
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    switch (message.type) {
      case 'ready':
        slot.state = 'ready';
        this.log.info({ worker: slot.name, pid: slot.pid }, `Workers ready: ${this.readyCount()}/${this.slots.length}`);
        if (this.readyCount() === this.slots.length) this.emit('all-ready');
        break;
      case 'init-failed':
        this.log.error({ worker: slot.name, error: message.error }, 'worker failed to start');
        break;
      case 'job-started':
        slot.active += 1;
        break;
      case 'job-finished':
        slot.active = Math.max(0, slot.active - 1);
        if (message.outcome === 'completed') slot.completed += 1;
        else slot.failed += 1;
        break;
      case 'draining':
        slot.state = 'draining';
        break;
    }
  }

  private async onExit(slot: Slot, pid: number | undefined, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const uptimeMs = Date.now() - (slot.startedAt ?? Date.now());
    slot.child = undefined;
    slot.active = 0;
    slot.lastExit = describeExit(code, signal);
    const clean = code === 0 && signal === null;
    if (!clean) await this.reclaim(slot);

    if (this.stopping) {
      slot.state = 'stopped';
      this.log.info({ worker: slot.name, pid, exit: slot.lastExit }, 'worker stopped');
      if (this.slots.every((s) => s.child === undefined)) this.finishShutdown();
      return;
    }
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

  /** Returns the jobs a dead worker held to their queues at once. */
  private async reclaim(slot: Slot): Promise<void> {
    try {
      const moved = await this.registry.reclaim(slot.name);
      if (moved.length > 0) {
        this.log.warn({ worker: slot.name, jobs: moved.map((j) => `${j.queue}:${j.jobId}`) }, `returned ${moved.length} job(s) of the dead worker to their queue`);
      }
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

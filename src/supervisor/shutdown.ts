import type { Logger } from '../log.js';
import type { SupervisorMessage } from '../ipc.js';
import type { Slot } from './slot.js';
import { draining, stopped } from './slot-lifecycle.js';

/** After asking a worker to abort, how long before it is killed outright. */
export const ABORT_GRACE_MS = 3000;

/** What the shutdown needs of the supervisor: its slots, a way to talk to and kill workers. */
export interface ShutdownHost {
  slots(): readonly Slot[];
  send(slot: Slot, message: SupervisorMessage): void;
  killAll(signal: NodeJS.Signals): void;
  /** Shutdown began (the workers are draining). */
  onStopping(): void;
  /** Every worker has exited. */
  onStopped(): void;
}

/**
 * The supervisor's two-stage shutdown, in one place (this is where to look when a job went
 * missing at a deploy).
 *
 * Stage one, the drain (first SIGTERM/SIGINT): no restarts; every worker is asked to drain —
 * take no new job, finish its active ones, unregister, exit 0.
 *
 * Stage two, the force (SHUTDOWN_TIMEOUT_SECONDS passed, or a second signal): each straggler is
 * told to abort — stop fetching, hand its jobs back to their queues by lock token, exit. One that
 * has not exited ABORT_GRACE_MS later is SIGKILLed; the supervisor then returns its jobs from the
 * registry (see Supervisor.onExit), so nothing waits for BullMQ's stall detection either way.
 */
export class Shutdown {
  private done: Promise<void> | undefined;
  private resolveDone: (() => void) | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private forcedReason: string | undefined;

  constructor(private readonly host: ShutdownHost, private readonly drainTimeoutMs: number, private readonly log: Logger) {}

  get started(): boolean {
    return this.done !== undefined;
  }

  /** Stage two happened: the exits that follow were asked for, not caused by the jobs. */
  get forced(): boolean {
    return this.forcedReason !== undefined;
  }

  /** First call: drain, with the deadline armed. A second call forces at once. */
  begin(reason: string): Promise<void> {
    if (this.done) {
      this.force(`${reason} (second request)`);
      return this.done;
    }
    this.done = new Promise<void>((resolve) => (this.resolveDone = resolve));
    this.host.onStopping();
    const slots = this.host.slots();
    const live = slots.filter((s) => s.child);
    this.log.info({ reason, workers: live.length, timeout_s: this.drainTimeoutMs / 1000 }, 'shutting down: draining workers');
    for (const slot of slots) {
      if (slot.child) {
        draining(slot);
        this.host.send(slot, { type: 'drain' });
      } else {
        stopped(slot);
      }
    }
    if (live.length === 0) queueMicrotask(() => this.finish());
    else this.deadline = setTimeout(() => this.force('drain deadline passed'), this.drainTimeoutMs);
    return this.done;
  }

  /** A worker exited during shutdown: the last one ends it. */
  workerExited(slot: Slot): void {
    stopped(slot);
    if (this.host.slots().every((s) => s.child === undefined)) this.finish();
  }

  /** Stragglers give their jobs back and exit; the ones that do not are killed. */
  private force(reason: string): void {
    if (this.forcedReason !== undefined) return;
    this.forcedReason = reason;
    const live = this.host.slots().filter((s) => s.child);
    this.log.warn({ reason, workers: live.map((s) => s.name) }, 'forcing shutdown: active jobs go back to their queues');
    for (const slot of live) this.host.send(slot, { type: 'abort' });
    setTimeout(() => this.host.killAll('SIGKILL'), ABORT_GRACE_MS).unref();
  }

  private finish(): void {
    if (!this.resolveDone) return;
    clearTimeout(this.deadline);
    this.log.info('all workers stopped');
    this.host.onStopped();
    this.resolveDone();
    this.resolveDone = undefined;
  }
}

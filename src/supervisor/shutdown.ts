import type { Logger } from '../log.js';
import { ABORT_GRACE_MS, type SupervisorMessage } from '../ipc.js';
import type { Slot } from './slot.js';
import { draining, stopped } from './slot-lifecycle.js';

/**
 * After the stragglers are killed, how long the supervisor still waits on Redis (returning a
 * dead worker's jobs, withdrawing its presence). Redis may be unreachable — a black-holed
 * connection never answers — so every such wait is bounded: a shutdown ends by the drain
 * deadline + ABORT_GRACE_MS + this, whatever Redis does. What could not be written is logged;
 * the jobs' locks expire and BullMQ's stall check returns them.
 */
export const SHUTDOWN_WRITE_GRACE_MS = 2000;

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
 *
 * Bounded whatever Redis does: every wait on Redis from here on gets timeLeftMs(), so the
 * supervisor is gone by the drain deadline + ABORT_GRACE_MS + SHUTDOWN_WRITE_GRACE_MS (from a
 * second signal: ABORT_GRACE_MS + SHUTDOWN_WRITE_GRACE_MS). A forced shutdown exits with
 * EXIT.forced (75) instead of 0, so whoever stopped it can tell a drain from a cut.
 */
export class Shutdown {
  private done: Promise<void> | undefined;
  private resolveDone: (() => void) | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private forcedReason: string | undefined;
  /** When the shutdown must be over: drain deadline (or the force) + abort grace + write grace. */
  private endsAt = Number.POSITIVE_INFINITY;

  constructor(private readonly host: ShutdownHost, private readonly drainTimeoutMs: number, private readonly log: Logger) {}

  get started(): boolean {
    return this.done !== undefined;
  }

  /** Stage two happened: the exits that follow were asked for, not caused by the jobs. */
  get forced(): boolean {
    return this.forcedReason !== undefined;
  }

  /**
   * How long a wait on Redis in the shutdown path may still take (Infinity before shutdown):
   * every such wait is bounded by it, so a Redis that never answers cannot hold the exit.
   */
  timeLeftMs(now = Date.now()): number {
    return Math.max(0, this.endsAt - now);
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
    this.endsAt = Date.now() + this.drainTimeoutMs + ABORT_GRACE_MS + SHUTDOWN_WRITE_GRACE_MS;
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
    clearTimeout(this.deadline);
    this.endsAt = Math.min(this.endsAt, Date.now() + ABORT_GRACE_MS + SHUTDOWN_WRITE_GRACE_MS);
    const live = this.host.slots().filter((s) => s.child);
    this.log.warn({ reason, workers: live.map((s) => s.name) }, 'forcing shutdown: active jobs go back to their queues');
    for (const slot of live) this.host.send(slot, { type: 'abort' });
    setTimeout(() => this.host.killAll('SIGKILL'), ABORT_GRACE_MS).unref();
    // Last resort: a worker's exit is handled once its jobs are returned, each wait on Redis
    // bounded by timeLeftMs(); should one still be pending at the end, stop waiting for it.
    setTimeout(() => {
      const pending = this.host.slots().filter((s) => s.child);
      if (pending.length > 0 && this.resolveDone) {
        this.log.error({ workers: pending.map((s) => s.name) }, 'shutdown deadline passed with workers not accounted for; exiting anyway (their jobs\' locks expire and BullMQ returns them)');
      }
      this.finish();
    }, this.timeLeftMs());
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

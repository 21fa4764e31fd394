import { WaitingError, type Job, type Worker } from 'bullmq';

/** How often the weighted order checks that the worker whose turn it is still fetches. */
const RECONCILE_MS = 1000;

/**
 * How a worker process orders its queues' fetches: strict priority (PriorityCascade) or by
 * weight (WeightedOrder). worker-runtime.ts uses either through this.
 */
export interface QueueOrder {
  add(worker: Worker): void;
  /** Checked synchronously before each job runs: true when it must go back (`defer`). */
  mustDefer(k: number, token: string | undefined): boolean;
  defer(job: Job, token: string): Promise<never>;
  /** Quiet: no queue fetches again. */
  halt(): void;
  readonly isHalted: boolean;
}

/**
 * QUEUE_NAME=emails:3,thumbnails:1: while several queues have work, each gets its weight's
 * share of the fetches (Sidekiq's weighted queues), so a busy queue never holds another at 0
 * for its whole drain; a queue with nothing to do takes nothing from the others.
 *
 * Stride scheduling over BullMQ's per-worker pause/resume: every job a queue starts advances
 * its pass by 1/weight, and only the queue with work and the lowest pass may fetch. A queue
 * that comes back from empty joins at the others' pass, not its old one, so it cannot claim
 * the turns it had nothing for. The next queue is resumed once a slot of the process is free
 * (fewer than `concurrency` jobs running), so the queues share the process's slots instead of
 * each filling its own. A fetch already in flight on a worker just paused still runs its job:
 * shares are close, not exact, and no job is ever handed back for order's sake.
 */
export class WeightedOrder implements QueueOrder {
  private readonly workers: Worker[] = [];
  private readonly active: number[] = [];
  private readonly pass: number[] = [];
  /** No work seen at the last fetch; until the first fetch, assumed (so nobody waits on it). */
  private readonly drained: boolean[] = [];
  /** Workers seen running (any event of theirs): only those may be restarted (see reconcile). */
  private readonly ran: boolean[] = [];
  /** A job started since the last reconcile tick. */
  private readonly startedSinceTick: boolean[] = [];
  private halted = false;
  private reconcileTimer: NodeJS.Timeout | undefined;

  constructor(private readonly weights: readonly number[], private readonly concurrency: number) {}

  add(worker: Worker): void {
    const k = this.workers.length;
    this.workers.push(worker);
    this.active.push(0);
    this.pass.push(0);
    this.drained.push(true);
    this.ran.push(false);
    this.startedSinceTick.push(false);
    // BullMQ's pause() and resume() take effect after a hop: one that lands after a later call
    // would leave a worker paused that should fetch, so each settles the order again.
    worker.on('paused', () => this.apply());
    worker.on('resumed', () => this.apply());
    worker.on('active', () => {
      this.ran[k] = true;
      this.startedSinceTick[k] = true;
      if (this.drained[k]) this.pass[k] = Math.max(this.pass[k]!, this.lowestPass(k));
      this.drained[k] = false;
      this.active[k]! += 1;
      this.pass[k]! += 1 / this.weights[k]!;
      this.apply();
    });
    const done = () => { this.active[k] = Math.max(0, this.active[k]! - 1); this.apply(); };
    worker.on('completed', done);
    worker.on('failed', done);
    worker.on('drained', () => {
      // BullMQ says `drained` when a paused worker finishes a job without fetching the next
      // one, work waiting or not: only a fetch that found nothing means the queue is empty.
      this.ran[k] = true;
      if (worker.isPaused()) return;
      this.drained[k] = true;
      this.apply();
    });
  }

  /** Only a quiet worker hands a job back; the order itself never does. */
  mustDefer(_k: number, token: string | undefined): boolean {
    return this.halted && token !== undefined && token !== '';
  }

  async defer(job: Job, token: string): Promise<never> {
    await job.moveToWait(token);
    throw new WaitingError();
  }

  halt(): void {
    this.halted = true;
    clearInterval(this.reconcileTimer);
    for (const worker of this.workers) if (!worker.closing && !worker.isPaused()) void worker.pause(true).catch(() => {});
  }

  get isHalted(): boolean {
    return this.halted;
  }

  /** Which queue fetches next: the one with work and the lowest pass (the first on a tie). */
  next(): number | undefined {
    let best: number | undefined;
    for (let k = 0; k < this.workers.length; k += 1) {
      if (!this.drained[k] && (best === undefined || this.pass[k]! < this.pass[best]!)) best = k;
    }
    return best;
  }

  private lowestPass(except: number): number {
    let lowest = Number.POSITIVE_INFINITY;
    for (let k = 0; k < this.workers.length; k += 1) if (k !== except && !this.drained[k]) lowest = Math.min(lowest, this.pass[k]!);
    return Number.isFinite(lowest) ? lowest : 0;
  }

  /**
   * Once a second: a queue whose worker may fetch yet started nothing for a whole tick has no
   * work. BullMQ says `drained` once per emptying, and that one may have come while the worker
   * was paused (ignored above); without this its turn would never end.
   */
  private reconcile(): void {
    for (const [k, worker] of this.workers.entries()) {
      if (!this.drained[k] && !worker.isPaused() && this.active[k] === 0 && !this.startedSinceTick[k]) this.drained[k] = true;
      this.startedSinceTick[k] = false;
    }
    this.apply();
  }

  private apply(): void {
    if (this.halted) return;
    // A resume that lands while the worker's main loop is ending (BullMQ leaves it marked
    // running until the loop has returned) is lost, and no event follows: look again each second.
    this.reconcileTimer ??= setInterval(() => this.reconcile(), RECONCILE_MS).unref();
    const busy = this.drained.filter((d) => !d).length;
    const chosen = this.next();
    const running = this.active.reduce((a, b) => a + b, 0);
    for (const [k, worker] of this.workers.entries()) {
      if (worker.closing) continue;
      // With one queue at work (or none) nothing is shared: every worker fetches, so an empty
      // queue notices its next job.
      const open = busy <= 1 || this.drained[k] || (k === chosen && (running < this.concurrency || this.active[k]! > 0));
      if (!open && !worker.isPaused()) void worker.pause(true).catch(() => {});
      if (open && worker.isPaused()) void worker.resume();
      // Open, not paused, yet its loop is gone: the lost resume above. Only a worker that ran
      // (never one the runtime has not started yet: it must register before any fetch).
      if (open && this.ran[k] && !worker.isPaused() && !worker.isRunning()) worker.run().catch(() => {});
    }
  }
}

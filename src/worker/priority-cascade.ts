import { WaitingError, type Job, type Worker } from 'bullmq';

/**
 * Several queues in priority order: the worker of queue k takes jobs only while every queue
 * before it is idle (nothing running, nothing waiting). BullMQ has no cross-queue priority, so
 * lower workers are paused while a higher queue is busy and resumed when it drains. A pause
 * cannot recall a fetch already in flight, so a job that still arrives on a paused lower
 * worker is handed straight back (see `mustDefer`).
 */
export class PriorityCascade {
  private readonly workers: Worker[] = [];
  private readonly active: number[] = [];
  private readonly drained: boolean[] = [];
  /** Quiet: every worker stays paused whatever the queues do. */
  private halted = false;

  /** `ranked`: more than one queue. With one, nothing outranks anything: no listener per job. */
  constructor(private readonly ranked = true) {}

  add(worker: Worker): void {
    const k = this.workers.length;
    this.workers.push(worker);
    this.active.push(0);
    // Unknown until the first fetch says otherwise: assume idle, so a lower queue is never
    // starved by a higher one that is simply empty.
    this.drained.push(true);
    if (!this.ranked) return;
    worker.on('active', () => { this.active[k]! += 1; this.drained[k] = false; this.apply(); });
    const done = () => { this.active[k] = Math.max(0, this.active[k]! - 1); this.apply(); };
    worker.on('completed', done);
    worker.on('failed', done);
    worker.on('drained', () => { this.drained[k] = true; this.apply(); });
  }

  /** True when a queue before `queue index k` has work running or waiting. */
  outranked(k: number): boolean {
    for (let i = 0; i < k; i += 1) if (this.active[i]! > 0 || !this.drained[i]) return true;
    return false;
  }

  /**
   * Checked before a job runs (synchronously: it is on every job's path): true when quiet, or
   * when a higher queue is busy, so the job must go back (`defer`).
   */
  mustDefer(k: number, token: string | undefined): boolean {
    return token !== undefined && token !== '' && (this.halted || (k > 0 && this.outranked(k)));
  }

  /** Puts the job back at the head of its queue; BullMQ's WaitingError says it was on purpose. */
  async defer(job: Job, token: string): Promise<never> {
    await job.moveToWait(token);
    throw new WaitingError();
  }

  /**
   * Quiet: pause every worker for good (a job fetched in flight is handed back on arrival, as
   * above). Running jobs are not waited for here; they finish on their own.
   */
  halt(): void {
    this.halted = true;
    for (const worker of this.workers) if (!worker.closing && !worker.isPaused()) void worker.pause(true).catch(() => {});
  }

  get isHalted(): boolean {
    return this.halted;
  }

  private apply(): void {
    if (this.halted) return;
    for (const [k, worker] of this.workers.entries()) {
      if (worker.closing) continue;
      const outranked = this.outranked(k);
      if (outranked && !worker.isPaused()) void worker.pause(true).catch(() => {});
      // resume() reports its own failure as the worker's 'error' event; it never rejects.
      if (!outranked && worker.isPaused()) void worker.resume();
    }
  }
}

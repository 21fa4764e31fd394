import type { Worker } from 'bullmq';

/** The AbortSignal reason a job whose lock is lost sees (`signal.reason`). */
export const LOCK_LOST = 'lock lost';

/**
 * Tells a running job when its BullMQ lock is lost, so a processor that honours its AbortSignal
 * stops before a second copy of the job runs elsewhere (at-least-once: BullMQ hands a job whose
 * lock expired to another worker). Two ways to know:
 * - BullMQ says a renewal failed (`lockRenewalFailed`: the lock is gone or another's);
 * - no renewal was confirmed for a whole lock duration (`locksRenewed` never came: Redis
 *   paused, unreachable or too slow). The lock was last set before its confirmation arrived, so
 *   by then it has expired; this side needs no answer from Redis to notice.
 * Only jobs whose processor takes the signal are watched: no other can be told.
 */
export class LockWatch {
  /** Job id → performance.now() of its lock's last confirmation (its start, at first). */
  private readonly confirmed = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    worker: Worker,
    private readonly lockMs: number,
    private readonly lost: (jobId: string, why: string) => void,
  ) {
    worker.on('locksRenewed', ({ jobIds }: { jobIds: string[] }) => {
      const now = performance.now();
      for (const id of jobIds) if (this.confirmed.has(id)) this.confirmed.set(id, now);
    });
    worker.on('lockRenewalFailed', (jobIds: string[]) => {
      for (const id of jobIds) this.lose(id, 'BullMQ could not renew it (it expired or another worker holds it)');
    });
    // A tenth of the lock: told at most that late after the lock lapsed, at a negligible cost.
    this.timer = setInterval(() => this.check(), Math.min(1000, Math.max(100, lockMs / 10)));
    this.timer.unref();
  }

  /** A job began under a lock just taken. */
  track(jobId: string): void {
    this.confirmed.set(jobId, performance.now());
  }

  /** Its processor ended: nothing left to tell it. */
  untrack(jobId: string): void {
    this.confirmed.delete(jobId);
  }

  stop(): void {
    clearInterval(this.timer);
    this.confirmed.clear();
  }

  private check(): void {
    const now = performance.now();
    for (const [id, at] of this.confirmed) {
      if (now - at >= this.lockMs) this.lose(id, `not renewed for ${this.lockMs / 1000} s (JOB_LOCK_SECONDS): Redis did not answer`);
    }
  }

  private lose(jobId: string, why: string): void {
    if (!this.confirmed.delete(jobId)) return;
    this.lost(jobId, why);
  }
}

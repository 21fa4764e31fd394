import type { Worker, Job } from 'bullmq';
import type { Config } from '../config/config.js';
import type { WorkerMessage } from '../ipc.js';
import type { Logger } from '../log.js';
import { rateLimitOn429, retryAfterOf } from '../jobs/rate-limit.js';
import { jobTimeoutMs, runWithDeadline } from '../jobs/timeout.js';
import { isJobMove, type JobReport, type ReportedJob } from './job-report.js';
import type { JobProcessor } from './load-processor.js';
import type { LockWatch } from './lock-watch.js';
import type { QueueHold } from './queue-hold.js';
import type { RecycleLimits } from './recycle-limits.js';

/** Jobs of this process that ended, by how: its registration and the `drained` line show them. */
export interface Counters { completed: number; failed: number }

/** A job this process runs, from its start until BullMQ records its outcome. */
interface ActiveJob {
  readonly reported: ReportedJob;
  readonly startedAt: number;
  /** The processor returned: a failure now is BullMQ's (a result it could not store). */
  returned: boolean;
}

/** The processor's promise, whether it returned a value, a promise, or threw. */
function invoke(processor: JobProcessor, job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown> {
  try {
    return Promise.resolve(processor(job, token, signal));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** What the job path needs of the worker around it (worker-runtime.ts). */
export interface JobRunsHost {
  config: Config;
  log: Logger;
  report: JobReport;
  limits: RecycleLimits;
  /** Each BullMQ worker's side of a processor's 429 (queue-hold.ts). */
  holds: ReadonlyMap<Worker, QueueHold>;
  /** Each BullMQ worker's watch over the locks of its running jobs (lock-watch.ts). */
  lockWatches: ReadonlyMap<Worker, LockWatch>;
  send(message: WorkerMessage): Promise<void>;
}

/**
 * The jobs of one worker process, each from its start until BullMQ records its outcome: its
 * processor run against its deadline (jobs/timeout.ts), a 429 turned into BullMQ's rate limit
 * (jobs/rate-limit.ts), the outcome counted and reported.
 */
export class JobRuns {
  readonly counters: Counters = { completed: 0, failed: 0 };
  /**
   * Jobs this process runs, until BullMQ records their outcome (see settle). Weak: a job whose
   * outcome BullMQ cannot record (its lock was lost) never settles, and goes with its Job.
   */
  private readonly jobs = new WeakMap<Job, ActiveJob>();
  /**
   * `queue:id` of the jobs this process runs until BullMQ records their outcome (settle), so a
   * job whose completion is still on its way is not taken for a lost fetch (auditLostFetches).
   * One whose outcome BullMQ cannot record (a lost lock) stays: a few ids, for a worker's life.
   */
  private readonly runningIds = new Set<string>();

  constructor(private readonly host: JobRunsHost) {}

  /** Whether this process runs the job (or BullMQ has not yet recorded how it ended). */
  runs(queue: string, jobId: string | undefined): boolean {
    return this.runningIds.has(`${queue}:${jobId}`);
  }

  /**
   * One job: on the record (settle, the report) from its start, its processor against the
   * deadline when it has one, and a 429 turned into BullMQ's rate limit. Not an async function:
   * at thousands of no-op jobs a second each extra promise hop is CPU that plain BullMQ never
   * spends (bouy's own code: 3.9-5 % of a worker's profile when this was three async functions,
   * 1.5 % now; see BENCHMARKS.md, "Per-job CPU: the job wrapper").
   */
  run(worker: Worker, processor: JobProcessor, job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    const queue = worker.name;
    const active: ActiveJob = { reported: this.host.report.started(queue, job.id ?? '', job.name), startedAt: performance.now(), returned: false };
    this.jobs.set(job, active);
    this.runningIds.add(`${queue}:${job.id}`);
    const locks = signal && this.host.lockWatches.get(worker);
    locks?.track(job.id ?? '');
    const timeoutMs = jobTimeoutMs(job, this.host.config.jobTimeoutSeconds);
    const work = timeoutMs > 0
      ? this.runWithDeadline(worker, job, timeoutMs, () => invoke(processor, job, token, signal))
      : invoke(processor, job, token, signal);
    return work.then((result) => {
      locks?.untrack(job.id ?? '');
      this.host.report.ended(active.reported);
      active.returned = true;
      return result;
    }, (error: unknown) => {
      locks?.untrack(job.id ?? '');
      // BullMQ's control-flow errors and a 429 (turned into its RateLimitError below) put the
      // job back: this run ended, the job did not fail, and BullMQ emits no event for it.
      if (isJobMove(error) || retryAfterOf(error) !== undefined) {
        this.jobs.delete(job);
        this.host.report.moved(active.reported);
      } else {
        this.host.report.ended(active.reported);
        this.host.log.warn({ queue, jobId: job.id, jobName: job.name, err: error }, 'job failed');
      }
      return rateLimitOn429(this.host.holds.get(worker)!, error, (ms) => this.host.log.warn({ queue, jobId: job.id, retry_after_ms: ms }, 'rate limited by the processor: the queue waits'));
    });
  }

  private async runWithDeadline(worker: Worker, job: Job, timeoutMs: number, work: () => Promise<unknown>): Promise<unknown> {
    const queue = worker.name;
    // The supervisor must know the deadline before the processor runs: one that blocks the
    // event loop at once would keep any later message from ever leaving.
    await this.host.send({ type: 'job-deadline', queue, jobId: job.id ?? '', timeoutMs });
    return runWithDeadline(work, timeoutMs, this.host.config.jobTimeoutGraceSeconds * 1000, {
      abort: (reason) => worker.cancelJob(job.id ?? '', reason),
      expired: () => void this.host.send({ type: 'timed-out', queue, jobId: job.id ?? '' }),
      ignored: () => {
        this.host.log.warn({ queue, jobId: job.id, grace_s: this.host.config.jobTimeoutGraceSeconds }, 'a timed-out job ignores its AbortSignal; recycling this worker');
        this.host.limits.request('job-timeout');
      },
    });
  }

  /**
   * A job's outcome as BullMQ recorded it (its Worker's `completed` / `failed` events), not as
   * the processor returned it: a result BullMQ cannot store (a circular object, one too big)
   * fails the job after the processor succeeded, and counting that as completed would lie.
   */
  settle(queue: string, job: Job, outcome: 'completed' | 'failed', error?: Error): void {
    const active = this.jobs.get(job);
    if (!active) return; // not one this process ran (a stalled job BullMQ failed, a deferred one)
    this.jobs.delete(job);
    this.runningIds.delete(`${queue}:${job.id}`);
    if (outcome === 'failed' && active.returned) {
      this.host.log.warn({ queue, jobId: job.id, jobName: job.name, err: error }, 'job failed after its processor returned: BullMQ could not store the result');
    }
    this.counters[outcome] += 1;
    const now = performance.now();
    this.host.report.finished(active.reported, outcome, now - active.startedAt);
    this.host.limits.afterJob(now);
  }
}

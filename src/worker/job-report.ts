import type { JobTally, RunningJob } from '../ipc.js';
import { DURATION_BUCKETS_S, bucketOf } from '../jobs/durations.js';
import { clip, OTHER_JOB_NAMES as OTHER } from '../jobs/job-names.js';

/** How often a busy worker reports: /health, /metrics and the fleet page lag by at most this. */
const REPORT_MS = 100;


/** BullMQ's errors that move a job instead of failing it (worker.ts handleFailed, BullMQ 6.7). */
const MOVES = new Set(['DelayedError', 'WaitingChildrenError', 'WaitingError', 'RateLimitError']);
/** The message BullMQ's RateLimitError carries, and all it checks. */
const RATE_LIMIT_MESSAGE = 'bullmq:rateLimitExceeded';

/**
 * Whether a processor's error is one of BullMQ's control-flow errors: the job moved to delayed,
 * wait or waiting-children, or back for a rate limit, by the documented patterns (step jobs,
 * flows). BullMQ records no outcome and emits no `failed` for them; neither do we.
 */
export function isJobMove(error: unknown): boolean {
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  return (typeof name === 'string' && MOVES.has(name)) || message === RATE_LIMIT_MESSAGE;
}

export interface Report { tallies: JobTally[]; running: RunningJob[] }

/** A job from its start to its outcome: listed as running until `ended` (or `finished`) is called with it. */
export type ReportedJob = Readonly<RunningJob>;

/**
 * The worker's side of job statistics. One message per job start and finish made the
 * supervisor parse, count, label and observe every job: at thousands of no-op jobs a second it
 * spent as much CPU as a tenth of the worker. Instead the worker counts (per queue and job
 * name: starts, outcomes, durations and histogram buckets) and reports what changed every
 * REPORT_MS, with the list of jobs running then; an idle worker sends nothing. `flush()` sends
 * at once, before anything that depends on the figures (a recycle request, the exit).
 * On every job's path: no key is built per call (tallies by queue, then name; running jobs are
 * their own entries).
 */
export class JobReport {
  /** Queue → job name → what changed since the last report. */
  private tallies = new Map<string, Map<string, JobTally>>();
  private readonly running = new Set<ReportedJob>();
  /** Names with their own tally; later ones are counted as `other` (names come from clients). */
  private readonly names = new Set<string>();
  private changed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (report: Report) => Promise<void>,
    private readonly nameLimit = 50,
    private readonly everyMs = REPORT_MS,
  ) {}

  /** `name` is clipped here, once: every view of it (/health, /metrics, the fleet page) shows the same cut. */
  started(queue: string, jobId: string, name: string): ReportedJob {
    const job: ReportedJob = { queue, jobId, name: clip(name), startedAt: Date.now() };
    this.running.add(job);
    this.tally(queue, job.name).started += 1;
    this.schedule();
    return job;
  }

  /**
   * Its processor returned or threw: no longer running, whether or not BullMQ manages to
   * record an outcome (it cannot for a job whose lock was lost, and then `finished` never
   * comes; left listed, the job would count as running, and keep its deadline, for ever).
   */
  ended(job: ReportedJob): void {
    if (this.running.delete(job)) this.schedule();
  }

  /**
   * Its processor ended the run by moving the job (see isJobMove): not an outcome, the job runs
   * again later and counts as started again then.
   */
  moved(job: ReportedJob): void {
    this.running.delete(job);
    this.tally(job.queue, job.name).moved += 1;
    this.schedule();
  }

  finished(job: ReportedJob, outcome: 'completed' | 'failed', durationMs: number): void {
    this.running.delete(job);
    const tally = this.tally(job.queue, job.name);
    tally[outcome] += 1;
    tally.totalMs += durationMs;
    if (durationMs > tally.maxMs) tally.maxMs = durationMs;
    tally.buckets[bucketOf(durationMs)]! += 1;
    this.schedule();
  }

  /** Jobs started whose processor has not ended yet (the `active` of heartbeats and logs). */
  get runningCount(): number {
    return this.running.size;
  }

  /** Sends what changed since the last report; resolves once the message left. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.changed) return Promise.resolve();
    this.changed = false;
    const tallies = [...this.tallies.values()].flatMap((byName) => [...byName.values()]);
    this.tallies = new Map();
    return this.send({ tallies, running: [...this.running] });
  }

  private tally(queue: string, jobName: string): JobTally {
    const name = this.names.has(jobName) || this.names.size < this.nameLimit ? jobName : OTHER;
    if (name !== OTHER) this.names.add(name);
    let byName = this.tallies.get(queue);
    if (!byName) this.tallies.set(queue, (byName = new Map<string, JobTally>()));
    let tally = byName.get(name);
    if (!tally) {
      tally = { queue, name, started: 0, completed: 0, failed: 0, moved: 0, totalMs: 0, maxMs: 0, buckets: new Array<number>(DURATION_BUCKETS_S.length + 1).fill(0) };
      byName.set(name, tally);
    }
    return tally;
  }

  private schedule(): void {
    this.changed = true;
    this.timer ??= setTimeout(() => void this.flush(), this.everyMs);
  }
}

import type { Config } from '../config/config.js';
import type { RecycleReason } from '../ipc.js';
import type { Logger } from '../log.js';
import { jobLimit } from './job-limit.js';

/** How often a busy worker reads its RSS against MAX_MEMORY_MB after jobs (afterJob). */
const MEMORY_CHECK_MS = 100;

/**
 * A worker's recycle limits: MAX_JOBS_PER_WORKER (with its jitter) and MAX_MEMORY_MB. Past one
 * it asks its supervisor, once; the supervisor answers with a drain, or refuses.
 */
export class RecycleLimits {
  /** The jobs this worker runs before it asks to be recycled (Infinity: no limit). */
  readonly jobLimit: number;
  private requested = false;
  private memoryCheckedAt = -Infinity;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly jobsDone: () => number,
    /** The worker stops anyway: nothing to ask. */
    private readonly stopping: () => boolean,
    /** Asks the supervisor for a recycle. */
    private readonly ask: (reason: RecycleReason, jobsDone: number, rssMb: number) => void,
  ) {
    this.jobLimit = jobLimit(config.maxJobsPerWorker, config.maxJobsJitter);
  }

  /** Past a recycle limit: ask the supervisor, once. */
  request(reason: RecycleReason): void {
    if (this.requested || this.stopping()) return;
    this.requested = true;
    const rssMb = Math.round(process.memoryUsage.rss() / 1048576);
    const jobsDone = this.jobsDone();
    this.log.info({ reason, jobs_done: jobsDone, rss_mb: rssMb }, 'recycle limit reached');
    this.ask(reason, jobsDone, rssMb);
  }

  checkMemory(): void {
    this.memoryCheckedAt = performance.now();
    if (this.config.maxMemoryMb > 0 && process.memoryUsage.rss() > this.config.maxMemoryMb * 1048576) this.request('max-memory');
  }

  /** After each job (`now`: performance.now()). */
  afterJob(now: number): void {
    if (this.jobsDone() >= this.jobLimit) this.request('max-jobs');
    // RSS is a read of /proc (~10 µs here, 4 % of a no-op job): after a job, at most every
    // MEMORY_CHECK_MS; the heartbeat checks it whatever the job rate.
    if (now - this.memoryCheckedAt >= MEMORY_CHECK_MS) this.checkMemory();
  }
}

import type { RedisClient as Redis } from '../redis.js';
import { Job, Queue, UnrecoverableError } from 'bullmq';
import type { Logger } from '../log.js';
import { BULL_WORKER_FIELD, lockOwner, registryKeys, workerNamePattern } from './keys.js';
import { openQueue } from '../queue.js';
import { countKill, killSuspects } from './kill-count.js';
import { JobTimeoutError } from '../worker/job-deadline.js';
import { RedisClock } from './redis-clock.js';
import type { Registration } from './worker-registration.js';

export type { Registration } from './worker-registration.js';

export interface RegisteredWorker extends Registration {
  /** Its last heartbeat (ms, Redis's clock): the index's score. */
  heartbeatAt: number;
  state: string;
  completed: number;
  failed: number;
  /** Jobs running at the last heartbeat. */
  active: number;
}

export interface HeldJob {
  queue: string;
  jobId: string;
  token: string;
  /** Failed instead of returned: its workers died running it more than MAX_JOB_KILLS times. */
  poisoned?: boolean;
  /** Failed instead of returned: its worker was killed blocked past the job's timeout. */
  timedOut?: boolean;
}

export interface ReclaimOptions {
  /**
   * The owners died (killed, crashed, exited unasked): each job counts one kill, and one killed
   * more than this many times fails instead of going back. Unset for graceful hand-backs (a
   * worker returning its own jobs at the drain deadline or when its supervisor is gone): those
   * are not the job's doing and count nothing.
   */
  maxKills?: number;
  /** `queue:id` → message: jobs that fail as timed out (attempts and backoff apply) instead of going back. */
  timedOut?: ReadonlyMap<string, string>;
  /**
   * Only registrations of workers this supervisor pid forked: a registration under the name
   * that another process wrote (a second supervisor with this hostname) is never reclaimed
   * by this one — its jobs are running elsewhere.
   */
  forkedBy?: number;
}

/** Between the hand-backs of jobs that died together (see reclaimLockedBy). */
const KILLED_STAGGER_MS = 250;

/** queue → BullMQ worker ids, from registration hashes. */
function bullWorkerIds(hashes: Readonly<Record<string, string>>[]): Map<string, Set<string>> {
  const byQueue = new Map<string, Set<string>>();
  for (const hash of hashes) {
    for (const [field, id] of Object.entries(hash)) {
      if (!field.startsWith(BULL_WORKER_FIELD)) continue;
      const queue = field.slice(BULL_WORKER_FIELD.length);
      (byQueue.get(queue) ?? byQueue.set(queue, new Set()).get(queue)!).add(id);
    }
  }
  return byQueue;
}

function parseWorker(name: string, hash: Record<string, string>, score: number): RegisteredWorker {
  return {
    name,
    pid: Number(hash.pid ?? 0),
    host: hash.host ?? '',
    queues: (hash.queues ?? '').split(',').filter(Boolean),
    startedAt: Number(hash.started ?? 0),
    heartbeatAt: score,
    state: hash.state ?? 'unknown',
    completed: Number(hash.completed ?? 0),
    failed: Number(hash.failed ?? 0),
    active: Number(hash.active ?? 0),
  };
}

/** The fleet-wide view of the registry: list, reclaim jobs of dead workers, clean up. */
export class Registry {
  private readonly keys;
  /** Jobs this process failed as poison (their workers died on them past MAX_JOB_KILLS), by queue. */
  readonly poisoned = new Map<string, number>();
  /** The one clock every age is judged on: Redis's. */
  readonly clock: RedisClock;

  constructor(private readonly redis: Redis, prefix: string, private readonly bullPrefix: string, clock?: RedisClock) {
    this.keys = registryKeys(prefix);
    this.clock = clock ?? new RedisClock(redis);
  }

  async list(): Promise<RegisteredWorker[]> {
    const entries = await this.redis.zrange(this.keys.index, '0', '-1', 'WITHSCORES');
    const workers: RegisteredWorker[] = [];
    const pipeline = this.redis.pipeline();
    const names: Array<[string, number]> = [];
    for (let i = 0; i < entries.length; i += 2) {
      names.push([entries[i]!, Number(entries[i + 1])]);
      pipeline.hgetall(this.keys.worker(entries[i]!));
    }
    const hashes = (await pipeline.exec()) ?? [];
    names.forEach(([name, score], i) => {
      const hash = (hashes[i]?.[1] ?? {}) as Record<string, string>;
      workers.push(parseWorker(name, hash, score));
    });
    return workers;
  }

  /** Puts back every job the named (dead) worker held; see reclaimAll. */
  reclaim(name: string, options: ReclaimOptions = {}): Promise<HeldJob[]> {
    return this.reclaimAll([name], options);
  }

  /**
   * Puts the jobs that dead workers held back in their queues at once, instead of leaving them
   * to BullMQ's stall detection (lockDuration + stalledInterval, 30 s or more). A job is theirs
   * when its lock token starts with one of their BullMQ worker ids. Safe against a job that
   * moved on: BullMQ's moveToWait checks the token, so a job now held by another worker or
   * already finished is left alone. With `maxKills`, a job whose workers died on it more than
   * that many times fails for good instead (a poison job would otherwise kill worker after
   * worker for ever, like BullMQ's maxStalledCount).
   */
  async reclaimAll(names: readonly string[], options: ReclaimOptions = {}): Promise<HeldJob[]> {
    const read = this.redis.pipeline();
    for (const name of names) read.hgetall(this.keys.worker(name));
    const hashes = ((await read.exec()) ?? []).map(([, hash]) => (hash ?? {}) as Record<string, string>);
    const ours = options.forkedBy === undefined ? hashes : hashes.filter((hash) => Number(hash.supervisor) === options.forkedBy);
    return this.reclaimLockedBy(bullWorkerIds(ours), options);
  }

  /**
   * Puts back the jobs locked by these BullMQ workers (queue → worker ids). A worker returning
   * its own jobs passes its ids rather than its name: by then a replacement may have registered
   * under the same name, and its jobs are not ours to move.
   */
  async reclaimLockedBy(byQueue: ReadonlyMap<string, ReadonlySet<string>>, options: ReclaimOptions = {}): Promise<HeldJob[]> {
    const moved: HeldJob[] = [];
    for (const [queueName, ids] of byQueue) {
      const queue = openQueue(queueName, this.redis, this.bullPrefix);
      try {
        const returnedOf = new Map<string, number>(); // owner → jobs of its returned so far
        const heldJobs = await this.heldBy(queue, ids);
        const suspects = options.maxKills === undefined ? new Set<string>() : await killSuspects(this.redis, queue, heldJobs);
        for (const held of heldJobs) {
          const job = await Job.fromId(queue, held.jobId);
          try {
            if (!job) continue;
            const timedOut = options.timedOut?.get(`${queueName}:${held.jobId}`);
            if (timedOut !== undefined) {
              await job.moveToFailed(new JobTimeoutError(timedOut), held.token);
              moved.push({ ...held, timedOut: true });
              continue;
            }
            const kills = !suspects.has(held.jobId) ? 0 : await countKill(this.redis, queue.toKey(held.jobId), held.token);
            if (options.maxKills !== undefined && kills > options.maxKills) {
              await job.moveToFailed(new UnrecoverableError(`killed its worker ${kills} times (MAX_JOB_KILLS=${options.maxKills})`), held.token);
              moved.push({ ...held, poisoned: true });
              this.poisoned.set(queueName, (this.poisoned.get(queueName) ?? 0) + 1);
            } else {
              // A worker killed with several jobs: one of them may be the poison, the others its
              // innocent neighbours. Back together, one worker would fetch them together again
              // and they would die together until all failed; staggered, they part.
              const owner = lockOwner(held.token);
              const nth = returnedOf.get(owner) ?? 0;
              returnedOf.set(owner, nth + 1);
              if (options.maxKills !== undefined && nth > 0) await job.moveToDelayed(Date.now() + nth * KILLED_STAGGER_MS, held.token);
              else await job.moveToWait(held.token);
              moved.push(held);
            }
          } catch {
            // The lock changed hands or the job finished meanwhile: it moved on without us.
          }
        }
      } finally {
        await queue.close();
      }
    }
    return moved;
  }

  /** Active jobs of `queue` whose lock belongs to one of the BullMQ worker `ids`. */
  private async heldBy(queue: Queue, ids: ReadonlySet<string>): Promise<HeldJob[]> {
    const active = await this.redis.lrange(queue.keys.active!, 0, -1);
    if (active.length === 0) return [];
    const locks = this.redis.pipeline();
    for (const jobId of active) locks.get(`${queue.toKey(jobId)}:lock`);
    const tokens = ((await locks.exec()) ?? []).map(([, token]) => token as string | null);
    const held: HeldJob[] = [];
    active.forEach((jobId, i) => {
      const token = tokens[i];
      const owner = token ? lockOwner(token) : undefined;
      if (token && owner && ids.has(owner)) held.push({ queue: queue.name, jobId, token });
    });
    return held;
  }

  async remove(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.del(this.keys.worker(name));
    pipeline.zrem(this.keys.index, ...names);
    await pipeline.exec();
  }

  /** The last heartbeat (ms, Redis's clock) of each named worker; null where none is registered. */
  async heartbeatsOf(names: readonly string[]): Promise<Array<number | null>> {
    if (names.length === 0) return [];
    return (await this.redis.zmscore(this.keys.index, ...names)).map((score) => (score === null ? null : Number(score)));
  }

  /** Names whose last heartbeat is older than `staleAfterMs`, on Redis's clock. */
  async expired(staleAfterMs: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.index, '-inf', `(${(await this.clock.now()) - staleAfterMs}`);
  }

  /** Names registered under `worker-<hostname>-…`, found with ZSCAN (never KEYS). */
  async ofHost(hostname: string): Promise<string[]> {
    const names: string[] = [];
    const pattern = workerNamePattern(hostname);
    let cursor = '0';
    do {
      const [next, page] = await this.redis.zscan(this.keys.index, cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i < page.length; i += 2) names.push(page[i]!);
    } while (cursor !== '0');
    return names;
  }
}

/** One log line for the jobs a reclaim returned and one for those it failed as poison. */
export function logReclaimed(log: Logger, fields: Record<string, unknown>, moved: readonly HeldJob[], whose: string): void {
  const ids = (jobs: readonly HeldJob[]) => jobs.map((j) => `${j.queue}:${j.jobId}`);
  const back = moved.filter((j) => !j.poisoned && !j.timedOut);
  const poisoned = moved.filter((j) => j.poisoned);
  if (back.length > 0) log.warn({ ...fields, jobs: ids(back) }, `returned ${back.length} job(s) ${whose} to their queue`);
  if (poisoned.length > 0) {
    log.error({ ...fields, jobs: ids(poisoned) }, `failed ${poisoned.length} poison job(s) ${whose}: each killed its worker more than MAX_JOB_KILLS times`);
  }
}

import type { RedisClient as Redis } from '../redis.js';
import { Job, Queue, UnrecoverableError } from 'bullmq';
import type { Logger } from '../log.js';
import { BULL_WORKER_FIELD, registryKeys } from './keys.js';
import { openQueue } from '../queue.js';
import { countKill, killSuspects } from './kill-count.js';
import { JobTimeoutError } from '../jobs/timeout.js';
import { RedisClock } from './redis-clock.js';

export interface Registration {
  name: string;
  pid: number;
  host: string;
  queues: readonly string[];
  startedAt: number;
  /** The supervisor that forked it: a worker whose parent is no longer this one is an orphan. */
  supervisor?: number;
}

export interface RegisteredWorker extends Registration {
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

const UNREGISTER = `
if redis.call('HGET', KEYS[1], 'pid') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1`;

/**
 * A heartbeat stamped with Redis's TIME, not the worker's clock: every reader judges its age
 * on Redis's clock too (RedisClock), so no host's clock can make a live worker look dead.
 * KEYS: the registration hash, the index; ARGV: name, replace (1: delete the hash first), then
 * field/value pairs. Returns the number of fields HSET created.
 */
const HEARTBEAT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) end
local created = redis.call('HSET', KEYS[1], 'heartbeat', now, unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], now, ARGV[1])
return created`;

/** The worker side of the registry: register, heartbeat, unregister. */
export class WorkerRegistration {
  private readonly keys;
  private readonly key: string;
  private ids: Record<string, string> = {};

  constructor(private readonly redis: Redis, prefix: string, private readonly info: Registration) {
    this.keys = registryKeys(prefix);
    this.key = this.keys.worker(info.name);
  }

  /**
   * `bullWorkers` maps each queue to the id of the BullMQ Worker consuming it. Every lock that
   * Worker takes is `<id>:<n>`, so the id is all it takes to find, after this process dies,
   * every job it held — including one fetched together with the previous job's completion,
   * before any code of ours ran.
   */
  async register(bullWorkers: Readonly<Record<string, string>>): Promise<void> {
    this.ids = Object.fromEntries(Object.entries(bullWorkers).map(([queue, id]) => [`${BULL_WORKER_FIELD}${queue}`, id]));
    // A slot reuses its name: replace whatever an earlier worker of that name left.
    await this.beat(true, { ...this.identity(), state: 'starting', completed: 0, failed: 0, active: 0 });
  }

  /** What a registration must hold to find this worker's jobs again: who it is, its BullMQ ids. */
  private identity(): Record<string, string | number> {
    const { name, pid, host, queues, startedAt, supervisor } = this.info;
    return { name, pid, host, queues: queues.join(','), started: startedAt, ...(supervisor ? { supervisor } : {}), ...this.ids };
  }

  async heartbeat(fields: { state: string; completed: number; failed: number; active: number }): Promise<void> {
    // HSET answers how many fields it created: any means the hash was gone (Redis lost its
    // data, FLUSHALL, a prune) and now holds counters only. Without the BullMQ ids a later
    // death would return nothing, so register again in full.
    const created = await this.beat(false, fields);
    if (created > 0) await this.redis.hset(this.key, this.identity());
  }

  /** Writes `fields` and the heartbeat, stamped with Redis's clock (see HEARTBEAT); fields created. */
  private async beat(replace: boolean, fields: Record<string, string | number>): Promise<number> {
    const args = Object.entries(fields).flatMap(([field, value]) => [field, String(value)]);
    return Number(await this.redis.eval(HEARTBEAT, 2, this.key, this.keys.index, this.info.name, replace ? '1' : '0', ...args));
  }

  /** Removes the registration if it is still this process's (a replacement may have taken the name). */
  async unregister(): Promise<void> {
    await this.redis.eval(UNREGISTER, 2, this.key, this.keys.index, String(this.info.pid), this.info.name);
  }
}

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
    heartbeatAt: Number(hash.heartbeat ?? score),
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
              const owner = held.token.slice(0, held.token.lastIndexOf(':'));
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
      const owner = token?.slice(0, token.lastIndexOf(':'));
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
    const pattern = `worker-${hostname.replace(/[*?[\]\\]/g, '\\$&')}-*`;
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

import type { Redis } from 'ioredis';
import { Job, Queue } from 'bullmq';
import { BULL_WORKER_FIELD, registryKeys } from './keys.js';

export interface Registration {
  name: string;
  pid: number;
  host: string;
  queues: readonly string[];
  startedAt: number;
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
}

/** The worker side of the registry: register, heartbeat, unregister. */
export class WorkerRegistration {
  private readonly keys;
  private readonly key: string;

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
    const now = Date.now();
    const ids = Object.fromEntries(Object.entries(bullWorkers).map(([queue, id]) => [`${BULL_WORKER_FIELD}${queue}`, id]));
    // A slot reuses its name: replace whatever an earlier worker of that name left.
    await this.redis
      .multi()
      .del(this.key)
      .hset(this.key, {
        name: this.info.name,
        pid: this.info.pid,
        host: this.info.host,
        queues: this.info.queues.join(','),
        started: this.info.startedAt,
        heartbeat: now,
        state: 'starting',
        completed: 0,
        failed: 0,
        active: 0,
        ...ids,
      })
      .zadd(this.keys.index, now, this.info.name)
      .exec();
  }

  async heartbeat(fields: { state: string; completed: number; failed: number; active: number }): Promise<void> {
    const now = Date.now();
    await this.redis.multi().hset(this.key, { ...fields, heartbeat: now }).zadd(this.keys.index, now, this.info.name).exec();
  }

  async unregister(): Promise<void> {
    await this.redis.multi().del(this.key).zrem(this.keys.index, this.info.name).exec();
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

  constructor(private readonly redis: Redis, prefix: string, private readonly bullPrefix: string) {
    this.keys = registryKeys(prefix);
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
  reclaim(name: string): Promise<HeldJob[]> {
    return this.reclaimAll([name]);
  }

  /**
   * Puts the jobs that dead workers held back in their queues at once, instead of leaving them
   * to BullMQ's stall detection (lockDuration + stalledInterval, 30 s or more). A job is theirs
   * when its lock token starts with one of their BullMQ worker ids. Safe against a job that
   * moved on: BullMQ's moveToWait checks the token, so a job now held by another worker or
   * already finished is left alone.
   */
  async reclaimAll(names: readonly string[]): Promise<HeldJob[]> {
    const read = this.redis.pipeline();
    for (const name of names) read.hgetall(this.keys.worker(name));
    const hashes = ((await read.exec()) ?? []).map(([, hash]) => (hash ?? {}) as Record<string, string>);
    const moved: HeldJob[] = [];
    for (const [queueName, ids] of bullWorkerIds(hashes)) {
      const queue = new Queue(queueName, { connection: this.redis, prefix: this.bullPrefix });
      try {
        for (const held of await this.heldBy(queue, ids)) {
          const job = await Job.fromId(queue, held.jobId);
          try {
            if (job) {
              await job.moveToWait(held.token);
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

  /** Names whose last heartbeat is older than `staleAfterMs`. */
  async expired(staleAfterMs: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.index, '-inf', `(${Date.now() - staleAfterMs}`);
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

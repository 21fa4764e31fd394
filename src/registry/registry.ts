import type { Redis } from 'ioredis';
import { Job, Queue } from 'bullmq';
import { JOB_FIELD, registryKeys } from './keys.js';

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
  activeJobs: HeldJob[];
}

export interface HeldJob {
  queue: string;
  jobId: string;
  token: string;
}

/** The worker side of the registry: register, heartbeat, record held jobs, unregister. */
export class WorkerRegistration {
  private readonly keys;
  private readonly key: string;

  constructor(private readonly redis: Redis, prefix: string, private readonly info: Registration) {
    this.keys = registryKeys(prefix);
    this.key = this.keys.worker(info.name);
  }

  async register(): Promise<void> {
    const now = Date.now();
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
      })
      .zadd(this.keys.index, now, this.info.name)
      .exec();
  }

  async heartbeat(fields: { state: string; completed: number; failed: number }): Promise<void> {
    const now = Date.now();
    await this.redis.multi().hset(this.key, { ...fields, heartbeat: now }).zadd(this.keys.index, now, this.info.name).exec();
  }

  /** Recorded before the job runs, so a worker killed mid-job leaves the token behind. */
  async holdJob(job: HeldJob): Promise<void> {
    await this.redis.hset(this.key, `${JOB_FIELD}${job.queue}:${job.jobId}`, job.token);
  }

  async releaseJob(queue: string, jobId: string): Promise<void> {
    await this.redis.hdel(this.key, `${JOB_FIELD}${queue}:${jobId}`);
  }

  async unregister(): Promise<void> {
    await this.redis.multi().del(this.key).zrem(this.keys.index, this.info.name).exec();
  }
}

function parseHeldJobs(hash: Record<string, string>): HeldJob[] {
  const jobs: HeldJob[] = [];
  for (const [field, token] of Object.entries(hash)) {
    if (!field.startsWith(JOB_FIELD)) continue;
    const rest = field.slice(JOB_FIELD.length);
    const colon = rest.indexOf(':');
    if (colon > 0) jobs.push({ queue: rest.slice(0, colon), jobId: rest.slice(colon + 1), token });
  }
  return jobs;
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
    activeJobs: parseHeldJobs(hash),
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

  /**
   * Puts the jobs a dead worker held back in their queues at once, instead of leaving them to
   * BullMQ's stall detection (lockDuration + stalledInterval, 30 s or more). Safe to call on a
   * job that has moved on: BullMQ checks the lock token, so a job now held by another worker or
   * already finished is left alone.
   */
  async reclaim(name: string): Promise<HeldJob[]> {
    const key = this.keys.worker(name);
    const held = parseHeldJobs(await this.redis.hgetall(key));
    const moved: HeldJob[] = [];
    const queues = new Map<string, Queue>();
    try {
      for (const job of held) {
        let queue = queues.get(job.queue);
        if (!queue) {
          queue = new Queue(job.queue, { connection: this.redis, prefix: this.bullPrefix });
          queues.set(job.queue, queue);
        }
        const found = await Job.fromId(queue, job.jobId);
        if (!found) continue;
        try {
          await found.moveToWait(job.token);
          moved.push(job);
        } catch {
          // The lock is gone or belongs to someone else: the job has moved on without us.
        }
      }
      if (held.length > 0) await this.redis.hdel(key, ...held.map((j) => `${JOB_FIELD}${j.queue}:${j.jobId}`));
    } finally {
      await Promise.all([...queues.values()].map((q) => q.close()));
    }
    return moved;
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

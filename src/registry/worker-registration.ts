import type { RedisClient as Redis } from '../redis.js';
import { BULL_WORKER_FIELD, registryKeys } from './keys.js';

export interface Registration {
  name: string;
  pid: number;
  host: string;
  queues: readonly string[];
  startedAt: number;
  /** The supervisor that forked it: a worker whose parent is no longer this one is an orphan. */
  supervisor?: number;
}

/** The fields a registration shows besides who it is (kept fresh by its supervisor's heartbeat). */
export interface RegistrationState { state: string; completed: number; failed: number; active: number }

const UNREGISTER = `
if redis.call('HGET', KEYS[1], 'pid') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1`;

/**
 * A registration written whole, its heartbeat (the index's score) stamped with Redis's TIME, not
 * the worker's clock: every reader judges its age on Redis's clock too (RedisClock), so no host's
 * clock can make a live worker look dead. KEYS: the registration hash, the index; ARGV: name,
 * then field/value pairs. Later heartbeats are the supervisor's (container-heartbeat.ts).
 */
const REGISTER = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], now, ARGV[1])
return now`;

/** The worker side of the registry: register (again), unregister. */
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
    await this.registerAgain({ state: 'starting', completed: 0, failed: 0, active: 0 });
  }

  /**
   * Writes the whole registration, replacing whatever is under the name (a slot reuses its
   * name; an earlier worker's may be left). Also how a registration lost from Redis (FLUSHALL,
   * a prune) comes back: without the BullMQ ids a later death would return nothing.
   */
  async registerAgain(state: RegistrationState): Promise<void> {
    const fields = { ...this.identity(), ...state };
    const args = Object.entries(fields).flatMap(([field, value]) => [field, String(value)]);
    await this.redis.eval(REGISTER, 2, this.key, this.keys.index, this.info.name, ...args);
  }

  /** What a registration must hold to find this worker's jobs again: who it is, its BullMQ ids. */
  private identity(): Record<string, string | number> {
    const { name, pid, host, queues, startedAt, supervisor } = this.info;
    return { name, pid, host, queues: queues.join(','), started: startedAt, ...(supervisor ? { supervisor } : {}), ...this.ids };
  }

  /** Removes the registration if it is still this process's (a replacement may have taken the name). */
  async unregister(): Promise<void> {
    await this.redis.eval(UNREGISTER, 2, this.key, this.keys.index, String(this.info.pid), this.info.name);
  }
}

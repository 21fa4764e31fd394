import type { WorkerBeat } from '../ipc.js';
import type { Logger } from '../log.js';
import type { RedisClient as Redis } from '../redis.js';
import { registryKeys } from './keys.js';
import type { RedisClock } from './redis-clock.js';
import type { WriteWatch } from './write-watch.js';
import { luaScript } from './lua-script.js';
import { RENEW_PART, type HostnameClaim } from './hostname-claim.js';

/** A worker's last heartbeat as its supervisor received it (over IPC), and when (this process's clock). */
export interface ReceivedBeat extends WorkerBeat { at: number }

/** The workers whose heartbeats this supervisor writes: name, process, and the last beat each sent. */
export interface BeatingWorker { name: string; pid: number; beat: ReceivedBeat }

/**
 * When a worker was last known both alive (its beat arrived) and reaching Redis (its own
 * connections up), on this process's clock: what its heartbeat in the registry stands for.
 */
export function provenAt(beat: ReceivedBeat): number {
  return beat.at - beat.redisDownMs;
}

/**
 * The container's heartbeat in one script: the hostname claim renewed (RENEW_PART), and every
 * worker's heartbeat stamped with Redis's TIME. KEYS: the index, the claim, then each worker's
 * registration hash; ARGV: the claim's three, then per worker its name, how long ago (ms) it was
 * last proven alive and reaching Redis, the number of changed field/value strings, those.
 * `ZADD XX`: a registration removed (its worker unregistered, a prune, FLUSHALL) is never made
 * again here — only its worker knows its BullMQ ids; the names found missing are returned, with
 * Redis's time (which keeps this supervisor's RedisClock in step without a TIME of its own) and
 * the claim's other holder, if any.
 */
const BEAT = luaScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
${RENEW_PART}
local scores, names = {}, {}
local a = 4
for i = 3, #KEYS do
  local name, age, n = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  if n > 0 and redis.call('EXISTS', KEYS[i]) == 1 then redis.call('HSET', KEYS[i], unpack(ARGV, a + 3, a + 2 + n)) end
  table.insert(scores, now - age)
  table.insert(scores, name)
  table.insert(names, name)
  a = a + 3 + n
end
local missing = {}
if #names > 0 and redis.call('ZADD', KEYS[1], 'XX', 'CH', unpack(scores)) < #names then
  for i, score in ipairs(redis.call('ZMSCORE', KEYS[1], unpack(names))) do
    if not score then table.insert(missing, names[i]) end
  end
end
return {now, missing, other}`);

/** The registration fields a beat shows (the heartbeat itself is the index's score). */
function fieldsOf(beat: WorkerBeat): Record<string, string> {
  return { state: beat.state, completed: String(beat.completed), failed: String(beat.failed), active: String(beat.active) };
}

/**
 * One heartbeat write a container, not one a worker, so a fleet at rest costs Redis little more
 * than its BullMQ workers alone: the workers tell their
 * supervisor over IPC, which writes every worker's heartbeat in one round trip, and a
 * registration's fields only when they changed, in the same round trip as the hostname claim's
 * renewal. At rest that is 5 commands a heartbeat for the container (EVAL, TIME, the claim's GET
 * and SET, ZADD) where each worker sent 4 and the claim 3. The connection is the caller's own,
 * with a socket timeout well inside a stale period (a half-open path is left for a new one
 * before peers could judge the workers dead).
 */
export function writeContainerHeartbeats(options: {
  redis: Redis;
  prefix: string;
  everyMs: number;
  workers: () => readonly BeatingWorker[];
  clock: RedisClock;
  writes: WriteWatch;
  claim: HostnameClaim;
  /** The registration of this worker is gone: ask it to register again. */
  lost: (name: string) => void;
  log: Logger;
}): { soon(): void; stop(): void } {
  const keys = registryKeys(options.prefix);
  /** What each worker's registration was last written with (by `name:pid`), to write fields only when they change. */
  let written = new Map<string, string>();
  let writing = false;
  const write = async () => {
    if (writing) return; // a slow Redis: skip a beat rather than pile up
    const workers = options.workers();
    writing = true;
    const sentAt = Date.now();
    try {
      const args: string[] = [];
      const next = new Map<string, string>(); // only the current workers': a new worker of a slot writes its fields
      for (const { name, pid, beat } of workers) {
        const fields = fieldsOf(beat);
        const signature = JSON.stringify(fields);
        const pairs = written.get(`${name}:${pid}`) === signature ? [] : Object.entries(fields).flat();
        next.set(`${name}:${pid}`, signature);
        args.push(name, String(Math.max(0, sentAt - provenAt(beat))), String(pairs.length), ...pairs);
      }
      const [now, missing, other] = (await BEAT(options.redis, [keys.index, options.claim.key, ...workers.map((w) => keys.worker(w.name))], [...options.claim.renewal(), ...args])) as [number, string[], string | null];
      options.clock.observe(Number(now), sentAt, Date.now());
      options.writes.wrote(sentAt);
      options.claim.renewed(other ?? null);
      written = next;
      for (const name of missing) {
        for (const { name: n, pid } of workers) if (n === name) written.delete(`${n}:${pid}`);
        options.lost(name);
      }
    } catch (error) {
      options.writes.failed();
      options.log.warn({ err: error }, 'could not write the workers\' heartbeats');
    } finally {
      writing = false;
    }
  };
  const timer = setInterval(() => void write(), options.everyMs);
  timer.unref();
  let pending: NodeJS.Immediate | undefined;
  return {
    /** A worker's state changed (ready, quiet, draining): shown now, not at the next heartbeat. */
    soon() {
      pending ??= setImmediate(() => { pending = undefined; void write(); });
    },
    stop() {
      clearInterval(timer);
      if (pending) clearImmediate(pending);
    },
  };
}

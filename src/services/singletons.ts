import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SchedulerSettings } from '../config/scheduler.js';
import { BouyError } from '../errors.js';
import { LeaderElection, leaderKey, readLeader, type SingletonStart } from '../leader/index.js';
import type { Logger } from '../log.js';
import { connect } from '../redis.js';
import { within } from '../timeout.js';
import { openQueue } from '../queue.js';

/**
 * Loads SINGLETON_MODULE (pre-flight: a missing module or a default export that is not a
 * function exits 64 before anything starts).
 */
export async function loadSingleton(file: string | undefined): Promise<SingletonStart | undefined> {
  if (!file) return undefined;
  const resolved = path.resolve(file);
  const origin = `SINGLETON_MODULE=${JSON.stringify(file)}`;
  if (!existsSync(resolved)) {
    throw new BouyError('BOUY_ERR_CONFIG', `${origin} does not exist (looked for ${resolved})`, {
      hint: 'set SINGLETON_MODULE to a module whose default export is async (ctx) => stopFunction',
    });
  }
  const loaded = (await import(pathToFileURL(resolved).href)) as { default?: unknown };
  if (typeof loaded.default !== 'function') {
    throw new BouyError('BOUY_ERR_CONFIG', `${origin} does not export a function as default (got ${typeof loaded.default})`, {
      hint: 'export default async function (ctx) { …; return async () => { /* stop */ } }',
    });
  }
  return loaded.default as SingletonStart;
}

/** The leader keeps the configured job schedulers in Redis; followers leave them alone. */
function scheduleKeeper(config: SchedulerSettings, log: Logger): SingletonStart {
  return async (context) => {
    const redis = connect(config.redis);
    try {
      for (const schedule of config.schedules) {
        if (!context.stillLeader()) break;
        const queue = openQueue(schedule.queue, redis, config.bullPrefix);
        const repeat = schedule.every !== undefined ? { every: schedule.every } : { pattern: schedule.pattern! };
        // One schedule BullMQ refuses (validated at start, but Redis may still say no) must not
        // keep the ones after it from being installed.
        try {
          await queue.upsertJobScheduler(schedule.id, repeat, { name: schedule.name, data: schedule.data });
          log.info({ schedule: schedule.id, queue: schedule.queue, ...repeat }, `job scheduler ${schedule.id} in place`);
        } catch (error) {
          log.error({ err: error, schedule: schedule.id, queue: schedule.queue, ...repeat }, `job scheduler ${schedule.id} could not be installed; the others are`);
        } finally {
          await queue.close().catch(() => {});
        }
      }
    } finally {
      redis.disconnect();
    }
    return () => {};
  };
}

export interface Leadership {
  election: LeaderElection;
  /** The fleet's leader id right now (from Redis), for /health. */
  leaderId(): Promise<string | null>;
  stop(): Promise<void>;
}

/**
 * Joins the fleet's leader election (leader/): exactly one process of every service that
 * shares this Redis runs the singleton services — the job schedulers of SCHEDULES and
 * SINGLETON_MODULE — and hands them over when it stops or dies.
 */
export function startLeadership(config: SchedulerSettings, singleton: SingletonStart | undefined, log: Logger): Leadership {
  const redis = connect(config.redis);
  redis.on('error', (error) => log.debug({ err: error }, 'leader connection error'));
  const key = leaderKey(config.keyPrefix);
  const election = new LeaderElection({ redis, key, id: `${config.hostname}:${process.pid}`, ttlMs: config.leaderTtlSeconds * 1000, log });
  if (config.schedules.length > 0) election.runWhileLeader('schedules', scheduleKeeper(config, log));
  if (singleton) election.runWhileLeader('singleton-module', singleton);
  election.start();
  let stopped: Promise<void> | undefined;
  return {
    election,
    leaderId: () => within(readLeader(redis, key), 500, null),
    // Idempotent: the supervisor hands over while its workers drain, and releases it again after.
    stop() {
      stopped ??= election.stop().finally(() => redis.disconnect());
      return stopped;
    },
  };
}

/**
 * The scheduler's settings: the shared ones (shared.ts) and what a process that may lead the
 * fleet reads: its health server, the leader lease, the singleton module and SCHEDULES. The
 * supervisor reads these too (it may lead), plus its own (config.ts); every problem at once,
 * exit 64, so a setting only the workers read never stops the scheduler.
 */
import { invalidConfiguration } from '../errors.js';
import { boolean, integer, number, portRange, Problems, type Env } from './parse.js';
import { parseSchedules, type Schedule } from './schedules.js';
import { parseSharedSettings, type SharedSettings } from './shared.js';

/** What a process that may lead the fleet reads besides the shared settings. */
export interface LeaderSettings {
  /** @defaultValue true */
  readonly healthServer: boolean;
  /** @defaultValue 8080 */
  readonly healthPort: number;
  /** Ports tried, in order from healthPort, when it is taken. @defaultValue 8080-8089 */
  readonly healthPortRange: readonly [number, number];
  /** Leader lease; a dead leader is replaced within this. @defaultValue 15 */
  readonly leaderTtlSeconds: number;
  /** Module whose default export `(ctx) => stop` runs only on the fleet's leader (migrations…). */
  readonly singletonModule: string | undefined;
  /** BullMQ job schedulers the leader keeps in place (SCHEDULES, JSON). @defaultValue [] */
  readonly schedules: readonly Schedule[];
}

export interface SchedulerSettings extends SharedSettings, LeaderSettings {}

const DEFAULT_HEALTH_PORTS: readonly [number, number] = [8080, 8089];

/** HEALTH_PORT_RANGE (default 8080-8089); undefined when invalid, the problem added. */
function healthPortRange(env: Env, problems: Problems): readonly [number, number] | undefined {
  const value = env.HEALTH_PORT_RANGE?.trim();
  if (value === undefined) return DEFAULT_HEALTH_PORTS;
  const range = portRange(value);
  if (range === undefined) problems.add('HEALTH_PORT_RANGE', env.HEALTH_PORT_RANGE, 'LOW-HIGH with 1 ≤ LOW ≤ HIGH ≤ 65535, e.g. 8080-8089');
  return range;
}

/** Reads the leader's settings; problems added to `problems`. */
export function parseLeaderSettings(env: Env, problems: Problems): LeaderSettings {
  const givenRange = healthPortRange(env, problems);
  const range = givenRange ?? DEFAULT_HEALTH_PORTS;
  const healthPort = integer(env, problems, 'HEALTH_PORT', range[0], 1, 65535);
  // Against an invalid range the port would be judged by the default one: a second, wrong error.
  if (givenRange && (healthPort < range[0] || healthPort > range[1])) {
    problems.add('HEALTH_PORT', env.HEALTH_PORT, `a port inside HEALTH_PORT_RANGE (${range[0]}-${range[1]})`);
  }
  return {
    healthServer: boolean(env, problems, 'HEALTH_SERVER', true),
    healthPort,
    healthPortRange: Object.freeze([range[0], range[1]] as const),
    leaderTtlSeconds: number(env, problems, 'LEADER_TTL_SECONDS', 15, 2, 3600),
    singletonModule: env.SINGLETON_MODULE?.trim() ? env.SINGLETON_MODULE.trim() : undefined,
    schedules: parseSchedules(env, problems),
  };
}

export function loadSchedulerSettings(env: Env = process.env, isTty = Boolean(process.stdout.isTTY)): SchedulerSettings {
  const problems = new Problems();
  const own = parseLeaderSettings(env, problems);
  const settings = { ...own, ...parseSharedSettings(env, problems, isTty) };
  if (problems.list.length > 0) throw invalidConfiguration(problems.list);
  return Object.freeze(settings);
}

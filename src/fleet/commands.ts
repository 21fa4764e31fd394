import { duplicate, type RedisClient } from '../redis.js';
import { MAX_WORKERS } from '../config/config.js';
import { fleetKeys } from './keys.js';

/** What the fleet page may ask of one container's supervisor. */
export type FleetCommand =
  | { action: 'quiet'; host: string }
  | { action: 'recycle'; host: string; worker: number | 'all' }
  | { action: 'resize'; host: string; workers: number };

/** A command not run within this long is dropped: the operator has long moved on. */
export const COMMAND_TTL_MS = 30_000;
const HOST_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;

const isWorkerCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_WORKERS;

/**
 * Checks a command from anywhere (the page's request body, the Redis list): the dashboard
 * refuses a bad one with a 400 naming the field, the supervisor ignores one that a writer
 * other than the dashboard left. Returns the command, or what is wrong.
 */
export function parseCommand(value: unknown): { command: FleetCommand } | { error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'the body must be a JSON object' };
  const body = value as Record<string, unknown>;
  const allowed: Record<string, string[]> = { quiet: ['action', 'host'], recycle: ['action', 'host', 'worker'], resize: ['action', 'host', 'workers'] };
  const action = body.action;
  if (typeof action !== 'string' || !Object.hasOwn(allowed, action)) return { error: `action ${JSON.stringify(action)} is not valid: one of quiet, recycle, resize` };
  const unknown = Object.keys(body).filter((k) => !allowed[action]!.includes(k));
  if (unknown.length > 0) return { error: `unknown field(s) for ${action}: ${unknown.join(', ')}` };
  const host = body.host;
  if (typeof host !== 'string' || !HOST_PATTERN.test(host)) return { error: `host ${JSON.stringify(host)} is not valid: a container's hostname` };
  if (action === 'quiet') return { command: { action, host } };
  if (action === 'recycle') {
    const worker = body.worker ?? 'all';
    if (worker !== 'all' && !isWorkerCount(worker)) return { error: `worker ${JSON.stringify(worker)} is not valid: a worker index from 1 to ${MAX_WORKERS}, or "all"` };
    return { command: { action, host, worker } };
  }
  if (!isWorkerCount(body.workers)) return { error: `workers ${JSON.stringify(body.workers)} is not valid: a whole number from 1 to ${MAX_WORKERS}` };
  return { command: { action: 'resize', host, workers: body.workers } };
}

// Stryker disable all: Redis I/O, tested against a real Redis (test/fleet-burst.test.ts); the pure rules around it are mutated
/** Queues a command for one host's supervisor; the list expires so a dead host's commands go. */
export async function sendCommand(redis: RedisClient, prefix: string, command: FleetCommand): Promise<void> {
  const key = fleetKeys(prefix).commands(command.host);
  await redis.multi().rpush(key, JSON.stringify({ ...command, at: Date.now() })).pexpire(key, COMMAND_TTL_MS).exec();
}

// Stryker restore all

/** Most commands the supervisor takes from its list in one read; a longer burst comes in several. */
export const COMMAND_BATCH = 1000;

/**
 * A batch of commands as the supervisor applies them, in order, without the superseded ones:
 * only the last resize (it decides the size; the ones before would fork and drain workers for
 * nothing), one quiet, one recycle of all (which covers any single worker's) or one per worker.
 */
export function collapseCommands(commands: readonly FleetCommand[]): FleetCommand[] {
  const lastResize = commands.findLastIndex((c) => c.action === 'resize');
  const recyclesAll = commands.some((c) => c.action === 'recycle' && c.worker === 'all');
  const seen = new Set<string>();
  return commands.filter((command, index) => {
    if (command.action === 'resize') return index === lastResize;
    if (command.action === 'recycle' && recyclesAll && command.worker !== 'all') return false;
    const key = command.action === 'recycle' ? `recycle ${command.worker}` : command.action;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// Stryker disable all: Redis I/O, tested against a real Redis (test/fleet-burst.test.ts); the pure rules around it are mutated
/**
 * The supervisor's side: waits for its host's commands (BLPOP on a connection of its own, so
 * the blocking read holds up nothing else), then takes every other one already waiting (up to
 * COMMAND_BATCH) and hands the valid, fresh ones to `apply`, collapsed (collapseCommands). One
 * at a time, a burst of 1,001 outran the supervisor: each resize forked or drained workers
 * before the next was read, and commands aged past COMMAND_TTL_MS in the list.
 */
export function listenForCommands(
  redis: RedisClient, prefix: string, host: string,
  apply: (command: FleetCommand) => void, ignored: (why: string) => void, collapsed: (from: number, to: number) => void = () => {},
): { stop(): void } {
  const connection = duplicate(redis);
  connection.on('error', () => {}); // the main connection reports Redis trouble
  const key = fleetKeys(prefix).commands(host);
  let stopped = false;
  const check = (raw: string): FleetCommand | undefined => {
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      ignored('not JSON');
      return undefined;
    }
    const { at, ...rest } = value ?? {};
    const parsed = parseCommand(rest);
    if ('error' in parsed) ignored(parsed.error);
    else if (parsed.command.host !== host) ignored(`for host ${parsed.command.host}`);
    else if (typeof at !== 'number' || Date.now() - at > COMMAND_TTL_MS) ignored('older than 30 s');
    else return parsed.command;
    return undefined;
  };
  const loop = async () => {
    while (!stopped) {
      try {
        const popped = await connection.blpop(key, 5); // 5 s, not 1: at rest a wait costs Redis a command; stop() disconnects, a command ends the wait at once
        if (!popped) continue;
        const more = (await connection.lpop(key, COMMAND_BATCH - 1)) ?? [];
        const valid = [popped[1], ...more].map(check).filter((c): c is FleetCommand => c !== undefined);
        const kept = collapseCommands(valid);
        if (kept.length < valid.length) collapsed(valid.length, kept.length);
        for (const command of kept) apply(command);
      } catch (error) {
        if (stopped) return;
        ignored(String(error));
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  };
  void loop();
  return {
    stop() {
      stopped = true;
      connection.disconnect();
    },
  };
}

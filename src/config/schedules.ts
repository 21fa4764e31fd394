import { CronExpressionParser } from 'cron-parser';
import type { Env, Problems } from './parse.js';

/** One repeating job: every N ms or on a cron pattern. */
export interface Schedule {
  readonly queue: string;
  readonly id: string;
  readonly name: string;
  readonly every: number | undefined;
  readonly pattern: string | undefined;
  readonly data: Record<string, unknown>;
}

/**
 * Why BullMQ could not run this cron pattern, or undefined. BullMQ parses it with the same
 * cron-parser only when the scheduler is installed — at run time, on the leader — so a typo
 * would surface there, long after start; here it stops the start (exit 64) instead.
 */
function cronProblem(pattern: string): string | undefined {
  try {
    CronExpressionParser.parse(pattern);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const SCHEDULE_HELP = 'a JSON array of {"queue","id","every" (ms) or "pattern" (cron), "name"?, "data"?}';

export function parseSchedules(env: Env, problems: Problems): Schedule[] {
  const value = env.SCHEDULES?.trim();
  if (!value) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    problems.add('SCHEDULES', env.SCHEDULES, `${SCHEDULE_HELP} (${(error as Error).message})`);
    return [];
  }
  if (!Array.isArray(parsed)) {
    problems.add('SCHEDULES', env.SCHEDULES, SCHEDULE_HELP);
    return [];
  }
  const schedules: Schedule[] = [];
  for (const [i, entry] of parsed.entries()) {
    const e = (entry ?? {}) as Record<string, unknown>;
    const queueOk = typeof e.queue === 'string' && /^[A-Za-z0-9_.-]+$/.test(e.queue);
    const idOk = typeof e.id === 'string' && e.id.length > 0;
    const everyOk = e.every === undefined || (Number.isInteger(e.every) && (e.every as number) >= 1000);
    const patternOk = e.pattern === undefined || (typeof e.pattern === 'string' && e.pattern.trim().length > 0);
    const cronError = patternOk && typeof e.pattern === 'string' ? cronProblem(e.pattern) : undefined;
    const oneOfThem = (e.every === undefined) !== (e.pattern === undefined);
    const dataOk = e.data === undefined || (typeof e.data === 'object' && e.data !== null && !Array.isArray(e.data));
    if (!queueOk || !idOk || !everyOk || !patternOk || !oneOfThem || !dataOk) {
      problems.add(`SCHEDULES[${i}]`, JSON.stringify(entry), 'an object with "queue" (a queue name), "id", exactly one of "every" (whole ms ≥ 1000) or "pattern" (cron), optional "name" and "data" (object)');
      continue;
    }
    if (cronError !== undefined) {
      problems.add(`SCHEDULES[${i}].pattern`, e.pattern as string, `a cron pattern BullMQ can run, e.g. "*/5 * * * *" (${cronError})`);
      continue;
    }
    schedules.push({
      queue: e.queue as string, id: e.id as string, name: typeof e.name === 'string' ? e.name : (e.id as string),
      every: e.every as number | undefined, pattern: e.pattern as string | undefined, data: (e.data as Record<string, unknown>) ?? {},
    });
  }
  return schedules;
}


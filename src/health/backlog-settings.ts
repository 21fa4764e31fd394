import { number, Problems, type Env } from '../config/parse.js';
import { invalidConfiguration } from '../errors.js';
import { MIN_TOKEN_LENGTH } from '../http/credentials.js';

/** KEDA's default pollingInterval, and deploy/kubernetes/keda/scaledobject.yaml's. */
export const DEFAULT_BACKLOG_WINDOW_SECONDS = 15;
/** An hour: a window longer than that would count far-future jobs again. */
export const MAX_BACKLOG_WINDOW_SECONDS = 3600;

/** The settings of `GET /backlog` and the backlog gauges, wherever they are served (worker, scheduler). */
export interface BacklogSettings {
  /** Delayed jobs due within this many seconds count. @defaultValue 15 */
  readonly windowSeconds: number;
  /** Bearer token `/backlog` needs; undefined: it is open, like /metrics (read-only counts). */
  readonly token: string | undefined;
}

/**
 * BACKLOG_WINDOW_SECONDS and BACKLOG_TOKEN. Read apart from the shared Config because only the
 * roles that serve the backlog need them; a bad value still exits 64 naming it.
 */
export function loadBacklogSettings(env: Env = process.env): BacklogSettings {
  const problems = new Problems();
  const windowSeconds = number(env, problems, 'BACKLOG_WINDOW_SECONDS', DEFAULT_BACKLOG_WINDOW_SECONDS, 0, MAX_BACKLOG_WINDOW_SECONDS);
  let token = env.BACKLOG_TOKEN === '' ? undefined : env.BACKLOG_TOKEN;
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    problems.add('BACKLOG_TOKEN', '(hidden)', `at least ${MIN_TOKEN_LENGTH} characters (\`openssl rand -hex 32\`), or unset to leave /backlog open`);
    token = undefined;
  }
  if (problems.list.length > 0) throw invalidConfiguration(problems.list);
  return { windowSeconds, token };
}

/**
 * The `window` query parameter of `/backlog` (seconds), or the configured default when absent.
 * A string error names the parameter and what is allowed (the route answers it with a 400).
 */
export function windowFromQuery(value: unknown, fallbackSeconds: number): number | { error: string } {
  if (value === undefined) return fallbackSeconds;
  const text = typeof value === 'string' ? value.trim() : '';
  const seconds = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_BACKLOG_WINDOW_SECONDS) {
    return { error: `window=${JSON.stringify(Array.isArray(value) ? value.join(',') : value)} is not valid: seconds from 0 to ${MAX_BACKLOG_WINDOW_SECONDS} (once), e.g. window=15` };
  }
  return seconds;
}

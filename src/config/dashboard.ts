/**
 * The dashboard's settings: the shared ones (shared.ts) and its own (DASHBOARD_HOST,
 * DASHBOARD_PORT, DASHBOARD_AUTH, DASHBOARD_USER, DASHBOARD_PASSWORD), every problem at once
 * (exit 64). Refuses a non-loopback address without credentials unless DASHBOARD_AUTH=none;
 * never echoes a secret.
 */
import { BouyError, invalidConfiguration } from '../errors.js';
import { isLoopback } from '../http/credentials.js';
import { integer, oneOf, Problems, text, type Env } from './parse.js';
import { parseSharedSettings, type SharedSettings } from './shared.js';

/** Shortest DASHBOARD_PASSWORD accepted (`./bouy setup` generates 32 characters). */
export const MIN_PASSWORD_LENGTH = 12;

/** How the dashboard lets people in: HTTP Basic, or (loopback, or said explicitly) anyone. */
export type DashboardAuth =
  | { readonly kind: 'basic'; readonly user: string; readonly password: string }
  | { readonly kind: 'none'; readonly why: 'loopback' | 'DASHBOARD_AUTH=none' };

export interface DashboardSettings extends SharedSettings {
  /** Bind address (DASHBOARD_HOST). @defaultValue HEALTH_HOST (0.0.0.0) */
  readonly dashboardHost: string;
  /** @defaultValue 9181, where the original stack's RQ dashboard was */
  readonly dashboardPort: number;
  readonly auth: DashboardAuth;
}

const HOW_TO_SET = 'set DASHBOARD_USER and DASHBOARD_PASSWORD (`./bouy setup` generates them into .env), '
  + 'or bind to loopback (DASHBOARD_HOST=127.0.0.1), or, to serve it open on purpose, DASHBOARD_AUTH=none';

export function loadDashboardSettings(env: Env = process.env, isTty = Boolean(process.stdout.isTTY)): DashboardSettings {
  const problems = new Problems();
  const port = integer(env, problems, 'DASHBOARD_PORT', 9181, 1, 65535);
  const mode = oneOf(env, problems, 'DASHBOARD_AUTH', 'basic', ['basic', 'none'] as const);
  const user = env.DASHBOARD_USER?.trim() || undefined;
  const password = env.DASHBOARD_PASSWORD || undefined;
  if (mode === 'basic') {
    if (user !== undefined && /[:\p{Cc}]/u.test(user)) problems.add('DASHBOARD_USER', user, 'a user name without ":" or control characters');
    if (password !== undefined && password.length < MIN_PASSWORD_LENGTH) {
      problems.add('DASHBOARD_PASSWORD', '(hidden)', `at least ${MIN_PASSWORD_LENGTH} characters`);
    }
    if ((user === undefined) !== (password === undefined)) {
      problems.add(user === undefined ? 'DASHBOARD_USER' : 'DASHBOARD_PASSWORD', undefined, 'set together with '
        + `${user === undefined ? 'DASHBOARD_PASSWORD' : 'DASHBOARD_USER'} (both, or neither)`);
    }
  }
  const shared = parseSharedSettings(env, problems, isTty);
  const host = text(env, problems, 'DASHBOARD_HOST', shared.healthHost);
  if (problems.list.length > 0) {
    throw invalidConfiguration(problems.list, HOW_TO_SET);
  }
  const settings = (auth: DashboardAuth): DashboardSettings => Object.freeze({ ...shared, dashboardHost: host, dashboardPort: port, auth });
  if (mode === 'none') return settings({ kind: 'none', why: 'DASHBOARD_AUTH=none' });
  if (user !== undefined && password !== undefined) return settings({ kind: 'basic', user, password });
  if (isLoopback(host)) return settings({ kind: 'none', why: 'loopback' });
  throw new BouyError('BOUY_ERR_CONFIG', `the dashboard would listen on ${host} without authentication: DASHBOARD_USER and DASHBOARD_PASSWORD are not set`, {
    hint: HOW_TO_SET,
  });
}

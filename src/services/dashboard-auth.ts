import basicAuth from '@fastify/basic-auth';
import type { FastifyInstance } from 'fastify';
import { oneOf, Problems, text, type Env } from '../config/parse.js';
import { BouyError, invalidConfiguration } from '../errors.js';
import { isLoopback, sameSecret } from '../http/credentials.js';

/** Shortest DASHBOARD_PASSWORD accepted (`./bouy setup` generates 32 characters). */
export const MIN_PASSWORD_LENGTH = 12;

/** How the dashboard lets people in: HTTP Basic, or (loopback, or said explicitly) anyone. */
export type DashboardAuth =
  | { readonly kind: 'basic'; readonly user: string; readonly password: string }
  | { readonly kind: 'none'; readonly why: 'loopback' | 'DASHBOARD_AUTH=none' };

const HOW_TO_SET = 'set DASHBOARD_USER and DASHBOARD_PASSWORD (`./bouy setup` generates them into .env), '
  + 'or bind to loopback (DASHBOARD_HOST=127.0.0.1), or, to serve it open on purpose, DASHBOARD_AUTH=none';

/**
 * The dashboard's bind address and credentials from the environment. Refuses (exit 64) a
 * non-loopback address without credentials unless DASHBOARD_AUTH=none; never echoes a secret.
 */
export function dashboardAuth(env: Env, fallbackHost: string): { host: string; auth: DashboardAuth } {
  const problems = new Problems();
  const host = text(env, problems, 'DASHBOARD_HOST', fallbackHost);
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
  if (problems.list.length > 0) {
    throw invalidConfiguration(problems.list, HOW_TO_SET);
  }
  if (mode === 'none') return { host, auth: { kind: 'none', why: 'DASHBOARD_AUTH=none' } };
  if (user !== undefined && password !== undefined) return { host, auth: { kind: 'basic', user, password } };
  if (isLoopback(host)) return { host, auth: { kind: 'none', why: 'loopback' } };
  throw new BouyError('BOUY_ERR_CONFIG', `the dashboard would listen on ${host} without authentication: DASHBOARD_USER and DASHBOARD_PASSWORD are not set`, {
    hint: HOW_TO_SET,
  });
}

/**
 * HTTP Basic on every route of `app` except `open` (the orchestrator's probes): the bull-board
 * page and its API alike, including routes registered after this call and unknown paths.
 */
export async function requireBasicAuth(app: FastifyInstance, user: string, password: string, open: readonly string[]): Promise<void> {
  await app.register(basicAuth, {
    authenticate: { realm: 'bouy dashboard' },
    async validate(givenUser, givenPassword) {
      // Both compared, always: no early return that would time whether the user was right.
      const userOk = sameSecret(givenUser, user);
      const passwordOk = sameSecret(givenPassword, password);
      if (!(userOk && passwordOk)) throw new Error('wrong user name or password');
    },
  });
  const openPaths = new Set(open);
  app.addHook('onRequest', (request, reply, done) => {
    const path = request.url.split('?', 1)[0]!;
    if (openPaths.has(path)) {
      done();
      return;
    }
    app.basicAuth(request, reply, done);
  });
}

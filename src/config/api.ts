/**
 * The api's settings: the shared ones (shared.ts), its own (API_HOST, API_PORT, API_TOKEN,
 * API_AUTH) and the defaults of the jobs it enqueues (JOB_ATTEMPTS, JOB_BACKOFF), every problem
 * at once (exit 64). A setting only the workers read (MAX_MEMORY_MB…) is not the api's business.
 */
import { BouyError, invalidConfiguration } from '../errors.js';
import { isLoopback, MIN_TOKEN_LENGTH } from '../http/credentials.js';
import { parseJobDefaults, type JobDefaults } from './jobs.js';
import { integer, oneOf, Problems, text, type Env } from './parse.js';
import { parseSharedSettings, type SharedSettings } from './shared.js';

export const API_AUTH_MODES = ['token', 'none'] as const;

export interface ApiSettings extends SharedSettings {
  /** Bind address (API_HOST). @defaultValue HEALTH_HOST (0.0.0.0) */
  readonly apiHost: string;
  /** @defaultValue 8000 */
  readonly apiPort: number;
  /** Bearer token every route but /livez and /readyz needs; undefined: no authentication. */
  readonly token: string | undefined;
  /** How clients are let in, in words for the start-up line. */
  readonly authentication: 'bearer token (API_TOKEN)' | 'none (API_AUTH=none)' | 'none (loopback only)';
  readonly jobDefaults: JobDefaults;
}

/**
 * Reads the api's settings. Without a token the api serves only loopback, unless API_AUTH=none
 * says an open api is meant (behind a proxy that authenticates, say). The token itself never
 * appears in a message.
 */
export function loadApiSettings(env: Env = process.env, isTty = Boolean(process.stdout.isTTY)): ApiSettings {
  const problems = new Problems();
  // The api's own first, as each role lists its own problems before the shared ones.
  const port = integer(env, problems, 'API_PORT', 8000, 1, 65535);
  const auth = oneOf(env, problems, 'API_AUTH', 'token', API_AUTH_MODES);
  let token: string | undefined = env.API_TOKEN === '' ? undefined : env.API_TOKEN;
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    problems.add('API_TOKEN', '(hidden)', `at least ${MIN_TOKEN_LENGTH} characters, e.g. \`openssl rand -hex 32\``);
    token = undefined;
  }
  if (token !== undefined && auth === 'none') problems.add('API_AUTH', env.API_AUTH, 'token while API_TOKEN is set (unset API_TOKEN for an api without authentication)');
  const jobDefaults = parseJobDefaults(env, problems);
  const shared = parseSharedSettings(env, problems, isTty);
  const host = text(env, problems, 'API_HOST', shared.healthHost);
  if (problems.list.length > 0) throw invalidConfiguration(problems.list);
  if (token === undefined && auth === 'token' && !isLoopback(host)) {
    throw new BouyError('BOUY_ERR_CONFIG', `the api would listen on ${host} with no authentication: API_TOKEN is not set`, {
      hint: `set API_TOKEN (at least ${MIN_TOKEN_LENGTH} characters, e.g. \`openssl rand -hex 32\`; clients send \`Authorization: Bearer <API_TOKEN>\`), `
        + 'or API_HOST=127.0.0.1 to serve this machine only, or API_AUTH=none to serve it without authentication on purpose',
    });
  }
  const authentication = token !== undefined ? 'bearer token (API_TOKEN)' : auth === 'none' ? 'none (API_AUTH=none)' : 'none (loopback only)';
  return Object.freeze({ ...shared, apiHost: host, apiPort: port, token, authentication, jobDefaults });
}

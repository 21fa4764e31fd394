import { BouyError, invalidConfiguration } from '../errors.js';
import { integer, oneOf, Problems, text, type Env } from '../config/parse.js';
import { isLoopback, MIN_TOKEN_LENGTH } from '../http/credentials.js';

/** The api's own settings, on top of the shared Config. */
export interface ApiConfig {
  /** Bind address. @defaultValue HEALTH_HOST (0.0.0.0) */
  readonly host: string;
  /** @defaultValue 8000 */
  readonly port: number;
  /** Bearer token every route but /livez and /readyz needs; undefined: no authentication. */
  readonly token: string | undefined;
}

/**
 * API_HOST, API_PORT, API_TOKEN and API_AUTH. Without a token the api serves only loopback,
 * unless API_AUTH=none says an open api is meant (behind a proxy that authenticates, say).
 * The token itself never appears in a message.
 */
export function loadApiConfig(env: Env, defaultHost: string): ApiConfig {
  const problems = new Problems();
  const host = text(env, problems, 'API_HOST', defaultHost);
  const port = integer(env, problems, 'API_PORT', 8000, 1, 65535);
  const auth = oneOf(env, problems, 'API_AUTH', 'token', ['token', 'none'] as const);
  let token: string | undefined = env.API_TOKEN === '' ? undefined : env.API_TOKEN;
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    problems.add('API_TOKEN', '(hidden)', `at least ${MIN_TOKEN_LENGTH} characters, e.g. \`openssl rand -hex 32\``);
    token = undefined;
  }
  if (token !== undefined && auth === 'none') problems.add('API_AUTH', env.API_AUTH, 'token while API_TOKEN is set (unset API_TOKEN for an api without authentication)');
  if (problems.list.length > 0) throw invalidConfiguration(problems.list);
  if (token === undefined && auth === 'token' && !isLoopback(host)) {
    throw new BouyError('BOUY_ERR_CONFIG', `the api would listen on ${host} with no authentication: API_TOKEN is not set`, {
      hint: `set API_TOKEN (at least ${MIN_TOKEN_LENGTH} characters, e.g. \`openssl rand -hex 32\`; clients send \`Authorization: Bearer <API_TOKEN>\`), `
        + 'or API_HOST=127.0.0.1 to serve this machine only, or API_AUTH=none to serve it without authentication on purpose',
    });
  }
  return { host, port, token };
}

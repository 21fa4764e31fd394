import { Context } from './context.js';
import type { ContainerInfo } from './docker.js';
import { envFile } from './dotenv.js';
import { appendSecrets, fillSecrets, needsSecrets } from './secrets.js';

/**
 * Before `./bouy up`: the api and the dashboard listen on 0.0.0.0 in their containers and
 * refuse to start without credentials, so when they are to start and the environment lacks
 * some secret, the missing ones are generated into `.env` (0600; existing values kept) and the
 * user told where. Returns the context to start the stack with (its environment has them).
 */
export function ensureStackSecrets(ctx: Context, services: readonly string[]): Context {
  if (!needsSecrets(services)) return ctx;
  const { values, generated } = fillSecrets(ctx.env);
  if (generated.length === 0) return ctx;
  const file = envFile(ctx.root, ctx.env);
  appendSecrets(file, values, generated);
  ctx.out.info(`generated ${generated.join(', ')} into ${file} (mode 0600): the api and the dashboard need credentials`);
  return new Context(ctx.root, Object.freeze({ ...ctx.env, ...values }), ctx.out, ctx.args, ctx.argv);
}

export interface Login {
  dashboard?: { url: string; user: string | undefined; password: string };
  api?: { url: string; token: string };
}

/** Where to log in to the running dashboard and api, and which credential each wants; never a secret. */
export function loginOf(containers: readonly ContainerInfo[], ctx: Context): Login {
  const file = envFile(ctx.root, ctx.env);
  const published = (service: string, port: string) => containers.find((c) => c.service === service && c.state === 'running' && c.ports[port])?.ports[port];
  const login: Login = {};
  const dashboard = published('dashboard', '9181/tcp');
  if (dashboard !== undefined) {
    login.dashboard = { url: `http://localhost:${dashboard}/`, user: ctx.env.DASHBOARD_AUTH?.trim().toLowerCase() === 'none' ? undefined : ctx.env.DASHBOARD_USER, password: `in ${file} as DASHBOARD_PASSWORD` };
  }
  const api = published('api', '8000/tcp');
  if (api !== undefined) login.api = { url: `http://localhost:${api}/`, token: `in ${file} as API_TOKEN (Authorization: Bearer …)` };
  return login;
}

export function describeLogin(login: Login): string {
  const lines: string[] = [];
  if (login.dashboard) {
    lines.push(login.dashboard.user
      ? `dashboard: ${login.dashboard.url}  user ${login.dashboard.user}, password ${login.dashboard.password}`
      : `dashboard: ${login.dashboard.url}`);
  }
  if (login.api) lines.push(`api:       ${login.api.url}  token ${login.api.token}`);
  return lines.join('\n');
}

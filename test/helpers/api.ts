import { afterAll, beforeAll } from 'vitest';
import { freePort } from './free-port.js';
import { runEntrypoint, started, stopProcess, type Running } from './processes.js';
import { startRedis, type RedisServer } from './redis-server.js';
import { waitFor } from './wait.js';

export interface ApiProcess {
  run: Running;
  url: string;
  port: number;
  /** A request with a deadline: `status` 0 means no answer within `timeoutMs`. */
  call(method: string, path: string, options?: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string>; timeoutMs?: number }): Promise<ApiAnswer>;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
  ms: number;
}

/** The real `api` service (`node dist/bundle/entrypoint.js api`) on a free loopback port. */
export async function startApi(redisUrl: string, env: Record<string, string> = {}): Promise<ApiProcess> {
  for (let attempt = 1; ; attempt += 1) {
    const port = env.API_PORT ? Number(env.API_PORT) : await freePort();
    const run = runEntrypoint(['api'], { REDIS_URL: redisUrl, HEALTH_HOST: '127.0.0.1', API_HOST: '127.0.0.1', API_PORT: String(port), ...env });
    const url = `http://127.0.0.1:${port}`;
    // The api logs the port it bound once it listens: until then /livez could be someone else's.
    const outcome = await waitFor(async () => {
      if (run.proc.exitCode !== null) return 'exited';
      const listening = run.lines.find((l) => l.port === port && typeof l.msg === 'string' && l.msg.startsWith('api on '));
      return listening && (await fetch(`${url}/livez`).then((r) => r.ok, () => false)) && 'up';
    }, 'the api to answer /livez');
    if (outcome === 'up') return { run, url, port, call: (method, path, options = {}) => call(url, method, path, options) };
    // freePort's port was taken before the api bound it: another port, a few times.
    const taken = run.stderr.join('\n').includes('EADDRINUSE');
    if (!taken || attempt === 3 || env.API_PORT) throw new Error(`api exited ${run.proc.exitCode}: ${run.stderr.join('\n')}`);
  }
}

export async function call(
  url: string, method: string, path: string,
  options: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const started = Date.now();
  try {
    const response = await fetch(`${url}${path}`, { method, headers, body, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON
    }
    return { status: response.status, headers: response.headers, text, json, ms: Date.now() - started };
  } catch {
    return { status: 0, headers: new Headers(), text: '', json: {}, ms: Date.now() - started };
  }
}

/**
 * One redis-server and one api process for a whole test file (started in beforeAll, stopped
 * in afterAll, so the per-test leak guard does not count the api as left behind).
 */
export function apiForThisFile(env: () => Record<string, string>): { redis: RedisServer; api: ApiProcess } {
  const shared = {} as { redis: RedisServer; api: ApiProcess };
  beforeAll(async () => {
    shared.redis = await startRedis();
    shared.api = await startApi(shared.redis.url, env());
    started.delete(shared.api.run.proc);
  });
  afterAll(async () => {
    if (shared.api) await stopProcess(shared.api.run);
    await shared.redis?.close();
  });
  return shared;
}

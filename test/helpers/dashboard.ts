import { freePort } from './free-port.js';
import { runEntrypoint, stopProcess, type Running } from './processes.js';
import type { RedisServer } from './redis-server.js';
import { waitFor } from './wait.js';

export interface TestDashboard {
  run: Running;
  url: string;
  close(): Promise<void>;
}

/** `node dist/bundle/entrypoint.js dashboard` on a free loopback port; resolves once /livez answers. */
export async function startDashboard(redis: RedisServer, env: Record<string, string>): Promise<TestDashboard> {
  const port = await freePort();
  const run = runEntrypoint(['dashboard'], { REDIS_URL: redis.url, DASHBOARD_HOST: '127.0.0.1', DASHBOARD_PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => run.proc.exitCode === null && (await fetch(`${url}/livez`).then((r) => r.ok, () => false)), `the dashboard on port ${port}`);
  return { run, url, close: () => stopProcess(run) };
}

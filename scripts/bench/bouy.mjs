// Launches bouy's supervisor (`node dist/entrypoint.js worker`) the way the image does, on a
// free health port, and reads its state through /readyz and /health as an orchestrator would.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.mjs';
import { start } from './processes.mjs';
import { waitFor } from './wait.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ENTRYPOINT = path.join(ROOT, 'dist', 'entrypoint.js');
export const PROCESSORS = path.join(ROOT, 'scripts', 'bench', 'processors');

export async function startBouy(env, options = {}) {
  const port = await freePort();
  const proc = start(process.execPath, [ENTRYPOINT, 'worker'], {
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    HEALTH_HOST: '127.0.0.1',
    HEALTH_PORT: String(port),
    HEALTH_PORT_RANGE: `${port}-${port}`,
    ...env,
  }, options);
  const get = async (route) => {
    const response = await fetch(`http://127.0.0.1:${port}${route}`);
    return { status: response.status, body: await response.json() };
  };
  return Object.assign(proc, {
    port,
    get,
    health: async () => (await get('/health')).body,
    /** Polls /readyz until 200 (every `everyMs`); returns ms since the process was spawned. */
    async ready(timeoutMs = 60_000, everyMs = 10) {
      await waitFor(async () => (await get('/readyz')).status === 200, '/readyz 200', timeoutMs, everyMs);
      return performance.now() - proc.startedAt;
    },
  });
}

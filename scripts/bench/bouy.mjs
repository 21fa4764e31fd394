// Launches bouy's supervisor (`node dist/bundle/entrypoint.js worker`) the way the image does, on a
// free health port, and reads its state through /readyz and /health as an orchestrator would.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.mjs';
import { start } from './processes.mjs';
import { waitFor } from './wait.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PROCESSORS = path.join(ROOT, 'scripts', 'bench', 'processors');

/**
 * The node options and the script of the image's entrypoint, read from its ENTRYPOINT line
 * (docker/Dockerfile, the last stage: runtime) so the bench runs the supervisor exactly as the
 * image does (the bundle, with its V8 options): the Dockerfile is the one place they are written.
 */
export function imageEntrypoint(dockerfile = path.join(ROOT, 'docker', 'Dockerfile')) {
  const line = readFileSync(dockerfile, 'utf8').split('\n').filter((l) => l.startsWith('ENTRYPOINT ')).at(-1);
  const argv = JSON.parse(line.slice('ENTRYPOINT '.length));
  const node = argv.indexOf('node');
  const script = argv.findIndex((a) => a.endsWith('/entrypoint.js'));
  if (node < 0 || script < node) throw new Error(`bench: cannot read the node options of ${dockerfile}'s ENTRYPOINT: ${line}`);
  return { flags: argv.slice(node + 1, script), script: path.join(ROOT, path.relative('/app', argv[script])) };
}
export const { flags: NODE_FLAGS, script: ENTRYPOINT } = imageEntrypoint();

/**
 * tsc's unbundled entrypoint (same code, one file per module): for `npm run profile`, whose
 * self time by package needs each frame's node_modules/<package> path, which a bundle erases.
 */
export const UNBUNDLED_ENTRYPOINT = path.join(ROOT, 'dist', 'entrypoint.js');

export async function startBouy(env, { entrypoint = ENTRYPOINT, ...options } = {}) {
  const port = await freePort();
  const proc = start(process.execPath, [...NODE_FLAGS, entrypoint, 'worker'], {
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

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bouy, json } from '../helpers/bouy.js';
import { ROOT } from '../helpers/processes.js';
import { pollUntil } from '../helpers/wait.js';
import { docker } from '../helpers/stack.js';

// The default mode (`./bouy up`, --dev): src/ mounted, recompiled and restarted on change.
// Its container must be healthy by its image's own HEALTHCHECK, must not restart unless a
// source file changed (the old tsc --watch rewrote dist/ right after start), and must run a
// change soon after it is saved.
const project = `bouydev${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-dev-'));
const envFile = path.join(dir, '.env');
writeFileSync(envFile, 'WORKER_COUNT=1\nLOG_LEVEL=info\nLOG_FORMAT=json\n');
const env = { COMPOSE_PROJECT_NAME: project, BOUY_DEV_IMAGE: 'bouy:e2e-dev', BOUY_ENV_FILE: envFile, BOUY_HEALTH_PORTS: '18190-18199' };
const run = (args: string[], timeoutMs?: number) => bouy(['--dev', ...args], env, timeoutMs);

/** How often the supervisor has started in the worker container (its pre-flight line). */
async function supervisorStarts(): Promise<number> {
  const logs = await run(['logs', 'worker']);
  return logs.stdout.split('\n').filter((line) => line.includes('pre-flight passed')).length;
}

async function containerHealth(): Promise<string> {
  const ps = json<{ containers: Array<{ service: string; health: string }> }>(await run(['ps', '--json']));
  return ps.containers.find((c) => c.service === 'worker')?.health ?? 'none';
}

afterAll(async () => {
  await run(['clean', '--timeout', '2']).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('the dev container', () => {
  it('is healthy by its HEALTHCHECK, does not restart on its own, and runs a saved change', async () => {
    const up = await run(['up', 'worker', '--build', '--json'], 900_000);
    expect(up.code, up.stderr).toBe(0);
    expect((await pollUntil(containerHealth, (h) => h === 'healthy', 90_000, 1000))).toBe('healthy');

    // Nothing changed: the supervisor started once, and still has 12 s later.
    expect(await supervisorStarts()).toBe(1);
    const quiet = await pollUntil(supervisorStarts, (n) => n > 1, 12_000, 1000);
    expect(quiet, 'the dev container restarted although no source file changed').toBe(1);

    // A saved file (its mtime is enough for the watcher): recompiled, restarted, healthy again.
    const file = path.join(ROOT, 'src', 'processors', 'llm.ts');
    const saved = Date.now();
    utimesSync(file, new Date(), new Date());
    const restarted = await pollUntil(supervisorStarts, (n) => n >= 2, 60_000, 250);
    console.log(`dev: a saved change ran (supervisor started again) ${((Date.now() - saved) / 1000).toFixed(1)} s after the save`);
    expect(restarted).toBe(2);
    const port = json<{ containers: Array<{ service: string; ports: Record<string, number> }> }>(await run(['ps', '--json']))
      .containers.find((c) => c.service === 'worker')?.ports['8080/tcp'];
    const health = await pollUntil(() => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 0), (s) => s === 200, 30_000, 250);
    expect(health).toBe(200);

    const stats = await docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}']);
    console.log(`dev container memory: ${stats.stdout.split('\n').filter((l) => l.startsWith(project)).join('; ')}`);
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { capture } from '../../src/cli/process.js';
import type { ContainerInfo } from '../../src/cli/docker.js';
import type { HealthReport } from '../../src/cli/health-probe.js';
import { bouy, json, type BouyResult } from './bouy.js';

/** The image the container tests build and run; not `bouy:latest`, which is the user's. */
export const IMAGE = 'bouy:e2e';

/**
 * A compose project of one test file's own: a unique name (never the user's `bouy` stack),
 * its own settings file, and `clean` to remove containers, network and volume afterwards.
 * The settings file says WORKER_COUNT=2 on purpose: tests pass other values inline, and the
 * inline value must win.
 */
export function testStack() {
  const project = `bouye2e${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-e2e-'));
  const envFile = path.join(dir, '.env');
  writeFileSync(envFile, 'WORKER_COUNT=2\nLOG_LEVEL=info\n');
  const baseEnv = { COMPOSE_PROJECT_NAME: project, BOUY_IMAGE: IMAGE, BOUY_ENV_FILE: envFile };
  const run = (args: string[], env: Record<string, string> = {}, timeoutMs?: number): Promise<BouyResult> =>
    bouy(['--test', ...args], { ...baseEnv, ...env }, timeoutMs);
  return {
    project,
    /** The stack's settings file; `./bouy up` generates the credentials into it. */
    envFile,
    run,
    async containers(): Promise<ContainerInfo[]> {
      return json<{ containers: ContainerInfo[] }>(await run(['ps', '--json'])).containers;
    },
    async health(): Promise<HealthReport[]> {
      return json<HealthReport[]>(await run(['health', '--json']));
    },
    async redisUrl(): Promise<string> {
      const redis = (await this.containers()).find((c) => c.service === 'redis');
      const port = redis?.ports['6379/tcp'];
      if (!port) throw new Error('the stack\'s Redis is not published');
      return `redis://127.0.0.1:${port}`;
    },
    async clean(): Promise<void> {
      await run(['clean', '--timeout', '2']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `docker …` (the client on PATH; none of these commands builds, so BuildKit does not matter). */
export function docker(args: string[]) {
  return capture('docker', args, process.env);
}

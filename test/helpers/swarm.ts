import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDotenv } from '../../src/cli/dotenv.js';
import type { HealthReport } from '../../src/cli/health-probe.js';
import { bouy, json, type BouyResult } from './bouy.js';
import { docker } from './stack.js';

/** The image the swarm test builds; its own tag, so it never races the compose e2e's `bouy:e2e`. */
export const SWARM_IMAGE = 'bouy:e2e-swarm';

/** The engine's swarm state: `inactive`, `active`, … */
export async function swarmState(): Promise<string> {
  return (await docker(['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim();
}

/** One job as Redis holds it: its state, how often a worker started it, which worker last had it. */
export interface JobRecord {
  id: string;
  state: 'completed' | 'failed' | 'other';
  started: number;
  processedBy: string;
}

// BullMQ keeps attemptsStarted as `ats` and processedBy as `pb` in the job's hash.
// Every job of a list in one round trip (one docker exec), read in Redis itself: the stack's
// Redis is not published (a swarm publishes on every interface, and Redis has no password).
const JOBS_LUA = `
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local h = redis.call('HMGET', ARGV[1] .. id, 'ats', 'pb')
  local state = 'other'
  if redis.call('ZSCORE', ARGV[1] .. 'completed', id) then state = 'completed'
  elseif redis.call('ZSCORE', ARGV[1] .. 'failed', id) then state = 'failed' end
  out[#out + 1] = {id, state, tonumber(h[1] or '0'), h[2] or ''}
end
return cjson.encode(out)`;

/**
 * A swarm stack of one test file's own: a unique name, its own settings file (credentials are
 * generated into it by `./bouy deploy`), its own api port, and what the tests ask of it.
 */
export function testSwarmStack(settings: Record<string, string>) {
  const name = `bouysw${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-swarm-'));
  const envFile = path.join(dir, '.env');
  writeFileSync(envFile, Object.entries(settings).map(([k, v]) => `${k}=${v}\n`).join(''));
  const clean = { API_TOKEN: undefined, DASHBOARD_USER: undefined, DASHBOARD_PASSWORD: undefined, ADMIN_TOKEN: undefined };
  const run = (args: string[], env: Record<string, string> = {}, timeoutMs?: number): Promise<BouyResult> =>
    bouy(args, { ...clean, BOUY_IMAGE: SWARM_IMAGE, BOUY_ENV_FILE: envFile, ...env }, timeoutMs);
  const stack = {
    name,
    envFile,
    run,
    /** The settings file as it is now (deploy appended the credentials). */
    settings: (): Record<string, string> => parseDotenv(readFileSync(envFile, 'utf8')),
    async health(): Promise<HealthReport[]> {
      return json<HealthReport[]>(await run(['health', '--stack', name, '--json']));
    },
    /** Running task containers of one service of the stack on this node. */
    async tasks(service: string): Promise<string[]> {
      const ps = await docker(['ps', '-q', '--no-trunc', '--filter', `label=com.docker.swarm.service.name=${name}_${service}`]);
      return ps.stdout.split('\n').map((s) => s.trim().slice(0, 12)).filter(Boolean).sort();
    },
    async redisCli(...args: string[]): Promise<string> {
      const redisId = (await stack.tasks('redis'))[0];
      if (!redisId) throw new Error(`stack ${name} runs no Redis`);
      const r = await docker(['exec', redisId, 'redis-cli', ...args]);
      if (r.code !== 0) throw new Error(`redis-cli ${args[0]}: ${r.stderr}`);
      return r.stdout.trim();
    },
    async jobs(queue: string, ids: readonly string[]): Promise<JobRecord[]> {
      const out = await stack.redisCli('EVAL', JOBS_LUA, '0', `bull:${queue}:`, ...ids);
      const rows = out === '{}' ? [] : (JSON.parse(out) as Array<[string, JobRecord['state'], number, string]>);
      return rows.map(([id, state, started, processedBy]) => ({ id, state, started, processedBy }));
    },
    async service(service: string, ...args: string[]) {
      return docker(['service', ...args, `${name}_${service}`]);
    },
    async remove(): Promise<void> {
      if ((await docker(['stack', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').includes(name)) {
        await docker(['stack', 'rm', name]);
      }
      for (let i = 0; i < 60 && (await docker(['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${name}`])).stdout.trim(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      await docker(['volume', 'rm', `${name}_redis-data`]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

/**
 * Makes this engine a single-node swarm unless it is one already; resolves to whether it did
 * (then the caller leaves it again, `docker swarm leave --force`, when done).
 */
export async function initSwarmIfNeeded(): Promise<boolean> {
  if ((await swarmState()) === 'active') return false;
  const init = await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  if (init.code !== 0) throw new Error(`docker swarm init failed: ${init.stderr}`);
  return true;
}

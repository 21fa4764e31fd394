import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { roleOf, stackDeployArgs } from '../src/cli/swarm.js';
import { loadConfig } from '../src/config/config.js';
import { bouy } from './helpers/bouy.js';
import { ROOT } from './helpers/processes.js';

// compose/stack.yml without an engine: what Swarm cannot be trusted to check for us (that the
// stack passes the same variables as compose/base.yml, that a rolling update waits for the
// HEALTHCHECK and outlasts the drain), and the CLI's refusals before it asks Docker anything.
// test/e2e/swarm.test.ts deploys it on a real swarm.

interface Service {
  image?: string;
  environment?: string[];
  depends_on?: unknown;
  stop_grace_period?: string;
  ports?: Array<{ target: number; published: string | number; mode: string }>;
  deploy?: {
    endpoint_mode?: string;
    replicas?: unknown;
    update_config?: { order?: string; failure_action?: string; monitor?: string };
    rollback_config?: { order?: string };
    restart_policy?: { condition?: string };
    resources?: { limits?: { memory?: string } };
  };
}

const load = (file: string) => parse(readFileSync(path.join(ROOT, 'compose', file), 'utf8')) as { services: Record<string, Service> };
const stack = load('stack.yml').services;
const base = load('base.yml').services;

const names = (env: string[] = []) => env.map((e) => e.split('=')[0]!).sort();
const seconds = (d = '') => {
  const m = /^(\d+)(s|m)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
};

/** The image's HEALTHCHECK timings, from docker/Dockerfile (what Swarm waits for). */
function healthcheck(): { interval: number; startPeriod: number; retries: number } {
  const text = readFileSync(path.join(ROOT, 'docker', 'Dockerfile'), 'utf8');
  const line = /HEALTHCHECK (.*)/.exec(text)![1]!;
  const opt = (name: string) => new RegExp(`--${name}=(\\w+)`).exec(line)![1]!;
  return { interval: seconds(opt('interval')), startPeriod: seconds(opt('start-period')), retries: Number(opt('retries')) };
}

describe('compose/stack.yml', () => {
  it('has the roles of compose/base.yml, each passing the same variables and the same image', () => {
    // What the stack may add: JSON logs (as prod.yml) and the api's and dashboard's credentials.
    const extras = ['BOUY_DEFAULT_LOG_FORMAT', ...['API_TOKEN', 'API_AUTH', 'DASHBOARD_USER', 'DASHBOARD_PASSWORD', 'DASHBOARD_AUTH'].map((n) => `BOUY_SET_${n}`)];
    expect(Object.keys(stack).sort()).toEqual(Object.keys(base).sort());
    for (const [role, service] of Object.entries(base)) {
      const ours = names(stack[role]!.environment);
      expect(ours, `${role} passes every variable of base.yml`).toEqual(expect.arrayContaining(names(service.environment)));
      expect(ours.filter((n) => !names(service.environment).includes(n) && !extras.includes(n)), `${role}'s extra variables`).toEqual([]);
      expect(stack[role]!.image, `${role}'s image`).toBe(service.image);
    }
    // The api and the dashboard get their credentials (they refuse to start on 0.0.0.0 without).
    expect(names(stack.api!.environment)).toEqual(expect.arrayContaining(['BOUY_SET_API_TOKEN', 'BOUY_SET_API_AUTH']));
    expect(names(stack.dashboard!.environment)).toEqual(expect.arrayContaining(['BOUY_SET_DASHBOARD_USER', 'BOUY_SET_DASHBOARD_PASSWORD', 'BOUY_SET_DASHBOARD_AUTH']));
  });

  it('works without IPVS: dnsrr everywhere, host-mode ports only, depends_on as a list, no build:', () => {
    for (const [role, service] of Object.entries(stack)) {
      expect(service.deploy?.endpoint_mode, role).toBe('dnsrr');
      for (const port of service.ports ?? []) expect(port.mode, `${role} port ${port.target}`).toBe('host');
      if (service.depends_on !== undefined) expect(Array.isArray(service.depends_on), `${role} depends_on`).toBe(true);
      expect(service).not.toHaveProperty('build');
      expect(service.deploy?.restart_policy?.condition, role).toBe('any');
      expect(service.deploy?.resources?.limits?.memory, `${role} memory limit`).toBeDefined();
    }
    // Workers publish no health port (two tasks on a node, or a start-first update, would clash).
    expect(stack.worker!.ports).toBeUndefined();
    expect(stack.redis!.ports).toBeUndefined();
    expect(stack.worker!.deploy!.replicas).toBe('${BOUY_WORKER_REPLICAS:-1}');
  });

  it('rolls the workers start-first, rolls back on failure within a window covering the HEALTHCHECK, and outlasts the drain', () => {
    const worker = stack.worker!;
    const update = worker.deploy!.update_config!;
    expect(update).toMatchObject({ order: 'start-first', failure_action: 'rollback' });
    expect(worker.deploy!.rollback_config).toMatchObject({ order: 'start-first' });
    const check = healthcheck();
    // Past the start period, three failed checks make a task unhealthy: the window must see it.
    expect(seconds(update.monitor)).toBeGreaterThanOrEqual(check.startPeriod + check.interval * check.retries);
    // The drain is bouy's own default (the compose files pass SHUTDOWN_TIMEOUT_SECONDS only when set).
    expect(worker.environment).toContain('BOUY_SET_SHUTDOWN_TIMEOUT_SECONDS=${SHUTDOWN_TIMEOUT_SECONDS:-}');
    const drain = loadConfig({}, false).shutdownTimeoutSeconds;
    expect(drain).toBe(25);
    expect(seconds(worker.stop_grace_period)).toBeGreaterThan(drain);
  });
});

describe('the swarm helpers of the CLI', () => {
  it('roleOf strips the stack prefix; stackDeployArgs names the stack file', () => {
    expect(roleOf('bouy', 'bouy_worker')).toBe('worker');
    expect(roleOf('bouy', 'other_worker')).toBe('other_worker');
    expect(stackDeployArgs('/src', 'jobs', 'never')).toEqual(['stack', 'deploy', '--compose-file', '/src/compose/stack.yml', '--resolve-image', 'never', '--prune', 'jobs']);
  });

  it.each([
    [['deploy', '--replicas', '0'], '--replicas 0 is not valid: a whole number 1-100'],
    [['deploy', '--replicas', '2.5'], '--replicas 2.5 is not valid'],
    [['deploy', '--name', 'Bad Name'], '--name "Bad Name" is not valid: lowercase letters, digits, _ and -'],
    [['undeploy', '--name', 'a.b'], '--name "a.b" is not valid'],
    [['health', '--stack', 'UPPER'], '--stack "UPPER" is not valid'],
  ])('bouy %j exits 64 saying what is wrong', async (args, message) => {
    const r = await bouy(args, { BOUY_DOCKER: '/nonexistent/docker' });
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(64);
  });

  it('deploy without a Docker client exits 69 and says so', async () => {
    const r = await bouy(['deploy'], { BOUY_DOCKER: '/nonexistent/docker' });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain('no Docker client');
  });
});

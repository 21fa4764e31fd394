/**
 * Worker pools: one worker service per group of queues, as Sidekiq runs one process per queue
 * set and Celery one worker per `-Q`. A pool `thumbnails` is the compose service
 * `worker-thumbnails`: the same image and settings as `worker`, with its own QUEUE_NAME, its own
 * WORKER_COUNT, its own range of health ports and its own container count, so a long backlog on
 * one queue no longer holds another queue's jobs at 0 (strict order inside one worker would).
 *
 * Pools live in one file the user owns, compose/pools.yml (BOUY_POOLS_FILE to use another),
 * written by `bouy pool add` from the project's own compose/base.yml worker service (so a
 * setting added there reaches the pools when they are written again). Compose reads it as one
 * more `-f` file; the CLI reads each pool's queues and ports from its `bouy.pool*` labels,
 * which the containers carry too. Pure functions here; the command is commands/pool.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BouyError } from '../errors.js';
import { healthPortRange, type PortRange } from './health-port-range.js';
import type { Env } from './process.js';

export const WORKER_SERVICE = 'worker';
const POOL_PREFIX = `${WORKER_SERVICE}-`;
/**
 * A pool name: DNS-safe (it becomes a compose service, a swarm service `<stack>_worker-<pool>`
 * and a Kubernetes name `bouy-worker-<pool>`, whose labels and Service names stop at 63).
 */
const POOL_NAME = /^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$/;
export const POOL_NAME_RULE = 'lowercase letters, digits and -, 1-30 characters, starting and ending with a letter or digit (DNS-safe), e.g. thumbnails';
const QUEUE = /^[A-Za-z0-9_.-]+(?::\d{1,3})?$/;
/** Health ports each pool gets by default: a block of this many after the last one used. */
export const POOL_PORT_BLOCK = 10;
/** Labels on a pool's service (and so its containers) that the CLI reads back. */
export const LABEL_POOL = 'bouy.pool';
export const LABEL_QUEUES = 'bouy.pool.queues';
export const LABEL_PORTS = 'bouy.pool.health-ports';

export interface Pool {
  name: string;
  /** `worker-<name>` */
  service: string;
  queues: string[];
  /** The pool's WORKER_COUNT: processes per container (N, auto, or MIN-MAX). */
  workers: string;
  ports: PortRange;
}

/** A worker service, the base `worker` or a pool's, and where its health ports come from. */
export interface WorkerService {
  service: string;
  ports: PortRange;
  /** The variable compose.yml reads for one container's fixed health port. */
  portVariable: string;
}

export function isWorkerService(service: string): boolean {
  return service === WORKER_SERVICE || service.startsWith(POOL_PREFIX);
}

export function assertPoolName(name: string): string {
  if (!POOL_NAME.test(name)) throw new BouyError('BOUY_ERR_USAGE', `pool name ${JSON.stringify(name)} is not valid: ${POOL_NAME_RULE}`);
  return name;
}

export function poolService(name: string): string {
  return `${POOL_PREFIX}${name}`;
}

/** `BOUY_HEALTH_PORT_THUMBNAILS` for pool `thumbnails` (`-` becomes `_`). */
export function poolPortVariable(name: string): string {
  return `BOUY_HEALTH_PORT_${name.toUpperCase().replace(/-/g, '_')}`;
}

export function poolsFile(root: string, env: Env): string {
  return path.resolve(root, env.BOUY_POOLS_FILE ?? path.join('compose', 'pools.yml'));
}

/** The Swarm twin of a pools file, beside it: compose/pools.yml → compose/stack.pools.yml. */
export function stackPoolsFile(pools: string): string {
  return path.join(path.dirname(pools), `stack.${path.basename(pools)}`);
}

/** `a,b` → [a, b]; each a queue name BullMQ takes. */
export function parseQueues(value: string): string[] {
  const queues = value.split(',').map((q) => q.trim());
  if (queues.length === 0 || queues.some((q) => !QUEUE.test(q))) {
    throw new BouyError('BOUY_ERR_USAGE', `--queues ${JSON.stringify(value)} is not valid: queue names (letters, digits, _ . -, a weight as :N) separated by commas, as QUEUE_NAME takes them, e.g. thumbnails or emails:3,newsletters:1`);
  }
  return queues;
}

export function parseRange(value: string, what: string): PortRange {
  try {
    return healthPortRange({ BOUY_HEALTH_PORTS: value });
  } catch {
    throw new BouyError('BOUY_ERR_USAGE', `${what} ${JSON.stringify(value)} is not valid: LOW-HIGH host ports, e.g. 8090-8099`);
  }
}

type ComposeService = Record<string, unknown> & { labels?: Record<string, string> | string[]; environment?: string[] };
interface ComposeFile { services?: Record<string, ComposeService> }

/**
 * yaml, loaded only where a pools or compose file is read or written: every CLI command reads
 * this module (context.ts), and a static import cost each one ~50 ms in a project with no pools.
 */
const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml') as typeof import('yaml');

function readYaml(file: string): ComposeFile {
  try {
    return (yaml().parse(readFileSync(file, 'utf8')) ?? {}) as ComposeFile;
  } catch (error) {
    throw new BouyError('BOUY_ERR_USAGE', `${file} is not valid YAML: ${(error as Error).message}`, { hint: 'fix it, or write it again with `bouy pool add`' });
  }
}

function labelsOf(service: ComposeService): Record<string, string> {
  const labels = service.labels;
  if (Array.isArray(labels)) return Object.fromEntries(labels.map((l) => [l.split('=')[0]!, l.split('=').slice(1).join('=')]));
  return labels ?? {};
}

/** The pools a pools file declares (none when it does not exist). */
export function readPools(file: string): Pool[] {
  if (!existsSync(file)) return [];
  const services = readYaml(file).services ?? {};
  return Object.entries(services).filter(([service]) => service.startsWith(POOL_PREFIX)).map(([service, definition]) => {
    const labels = labelsOf(definition);
    const name = assertPoolName(service.slice(POOL_PREFIX.length));
    const count = (definition.environment ?? []).find((e) => e.startsWith('BOUY_SET_WORKER_COUNT='))?.split('=')[1];
    return {
      name, service, queues: parseQueues(labels[LABEL_QUEUES] ?? ''),
      workers: count || '1',
      ports: parseRange(labels[LABEL_PORTS] ?? '', `${file}: ${service}'s label ${LABEL_PORTS}`),
    };
  });
}

function overlaps(a: PortRange, b: PortRange): boolean {
  return a.low <= b.high && b.low <= a.high;
}

/**
 * Every worker service of the project: `worker` on BOUY_HEALTH_PORTS and each pool on its own
 * range. Two ranges that overlap would have two services fight for a port: refused (exit 64).
 */
export function workerServices(root: string, env: Env): WorkerService[] {
  const base: WorkerService = { service: WORKER_SERVICE, ports: healthPortRange(env), portVariable: 'BOUY_HEALTH_PORT' };
  const pools = readPools(poolsFile(root, env)).map((p): WorkerService => ({ service: p.service, ports: p.ports, portVariable: poolPortVariable(p.name) }));
  const all = [base, ...pools];
  for (const [i, a] of all.entries()) {
    const clash = all.slice(i + 1).find((b) => overlaps(a.ports, b.ports));
    if (clash) {
      throw new BouyError('BOUY_ERR_USAGE', `the health ports of ${a.service} (${a.ports.low}-${a.ports.high}) and ${clash.service} (${clash.ports.low}-${clash.ports.high}) overlap: each worker service needs a range of its own`, {
        hint: `give one another range: BOUY_HEALTH_PORTS for worker, \`bouy pool add <name> --health-ports LOW-HIGH\` for a pool`,
      });
    }
  }
  return all;
}

/** The worker service a name means, or exit 64 naming the ones there are. */
export function workerServiceNamed(services: readonly WorkerService[], name: string): WorkerService {
  const found = services.find((s) => s.service === name);
  if (!found) {
    throw new BouyError('BOUY_ERR_USAGE', `no worker service ${JSON.stringify(name)}: the worker services are ${services.map((s) => s.service).join(', ')}`, {
      hint: `declare a pool with \`bouy pool add ${name.slice(POOL_PREFIX.length) || '<name>'} --queues <queue,…>\``,
    });
  }
  return found;
}

/** The first block of POOL_PORT_BLOCK ports above every range in use. */
export function nextPoolPorts(taken: readonly PortRange[]): PortRange {
  const low = Math.max(...taken.map((r) => r.high)) + 1;
  return { low, high: low + POOL_PORT_BLOCK - 1 };
}

/**
 * One pool's compose service, from the project's `worker` service (compose/base.yml or
 * stack.yml): its own QUEUE_NAME and WORKER_COUNT fixed here, its own health port variable
 * (compose) and replica count (swarm), labels the CLI and the containers carry.
 */
export function poolDefinition(worker: ComposeService, pool: Pool, kind: 'compose' | 'stack'): ComposeService {
  const fixed: Record<string, string> = { BOUY_SET_QUEUE_NAME: pool.queues.join(','), BOUY_SET_WORKER_COUNT: pool.workers };
  const environment = (worker.environment ?? []).map((entry) => {
    const key = entry.split('=')[0]!;
    return key in fixed ? `${key}=${fixed[key]}` : entry;
  });
  const labels = { [LABEL_POOL]: pool.name, [LABEL_QUEUES]: pool.queues.join(','), [LABEL_PORTS]: `${pool.ports.low}-${pool.ports.high}` };
  const definition: ComposeService = { ...structuredClone(worker), environment, labels };
  if (kind === 'compose') {
    definition.ports = [`\${${poolPortVariable(pool.name)}:-${pool.ports.low}-${pool.ports.high}}:8080`];
  } else {
    const deploy = (definition.deploy ?? {}) as Record<string, unknown>;
    definition.deploy = { ...deploy, replicas: `\${BOUY_WORKER_REPLICAS_${pool.name.toUpperCase().replace(/-/g, '_')}:-1}` };
  }
  return definition;
}

const HEADER = (kind: 'compose' | 'stack') => [
  `# Worker pools of this project (README "Pools"), written by \`bouy pool add\` from the worker service of`,
  `# compose/${kind === 'compose' ? 'base' : 'stack'}.yml: each pool is that service with its own QUEUE_NAME, WORKER_COUNT and`,
  kind === 'compose'
    ? '# health ports. `./bouy up` and `./bouy scale worker-<pool>=N` use it; plain Compose: add `-f compose/pools.yml`.'
    : '# replica count (BOUY_WORKER_REPLICAS_<POOL>). `./bouy deploy` adds it; by hand: `-c compose/stack.pools.yml`.',
  '# Edit a pool with `bouy pool add <name> …` again (it rewrites the file), remove one with `bouy pool rm <name>`.',
  '',
].join('\n');

/** A pools file's text: the pools' services, from the project's `worker` service in `source`. */
export function renderPools(source: string, pools: readonly Pool[], kind: 'compose' | 'stack'): string {
  const worker = readYaml(source).services?.[WORKER_SERVICE];
  if (!worker) throw new BouyError('BOUY_ERR_USAGE', `${source} has no \`${WORKER_SERVICE}\` service to make the pools from`, { hint: 'bouy init writes it' });
  const services = Object.fromEntries(pools.map((p) => [p.service, poolDefinition(worker, p, kind)]));
  return HEADER(kind) + yaml().stringify({ services }, { lineWidth: 0 });
}

import { existsSync } from 'node:fs';
import path from 'node:path';
import { BouyError } from '../errors.js';
import { describeContainer, dockerBin, type ContainerInfo, type Inspected } from './docker.js';
import { capture, type Env } from './process.js';

/**
 * The Docker Swarm side of the CLI: is this engine a manager, which task containers a stack
 * runs here, and the `docker stack` arguments. Labels are Swarm's own
 * (`com.docker.stack.namespace`, `com.docker.swarm.service.name`), so stacks deployed by hand
 * with `docker stack deploy -c compose/stack.yml NAME` are found too.
 */

export const STACK_FILE = path.join('compose', 'stack.yml');
export const NOT_A_MANAGER_HINT = 'make this engine a single-node swarm: docker swarm init --advertise-addr 127.0.0.1 (or run bouy on a manager of your swarm)';

/** Fails with exit 69 unless this engine is an active swarm manager; nothing is initialised here. */
export async function assertSwarmManager(env: Env): Promise<void> {
  const info = await capture(dockerBin(env), ['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'], env);
  const [state = '', manager = ''] = info.stdout.trim().split(/\s+/);
  if (info.code !== 0 || state !== 'active' || manager !== 'true') {
    const why = info.code !== 0 ? info.stderr.trim().split('\n')[0] : state === 'active' ? 'this node is a swarm worker, not a manager' : `this engine is not in a swarm (state ${state || 'unknown'})`;
    throw new BouyError('BOUY_ERR_NO_SWARM', `docker stack needs a swarm manager: ${why}`, { hint: NOT_A_MANAGER_HINT });
  }
}

/** The service of a stack's task container, without the stack's prefix (`bouy_worker` → `worker`). */
export function roleOf(stack: string, serviceName: string): string {
  return serviceName.startsWith(`${stack}_`) ? serviceName.slice(stack.length + 1) : serviceName;
}

/** The running task containers of a stack on this node, `service` being the stack's service. */
export async function stackContainers(env: Env, stack: string): Promise<ContainerInfo[]> {
  const ps = await capture(dockerBin(env), ['ps', '-q', '--filter', `label=com.docker.stack.namespace=${stack}`], env);
  if (ps.code !== 0) return [];
  const ids = ps.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = await capture(dockerBin(env), ['inspect', ...ids], env);
  // A task container can be gone between ps and inspect (a rolling update, a scale down).
  const list = inspected.stdout.trim() ? (JSON.parse(inspected.stdout) as Inspected[]) : [];
  return list.map((c) => {
    const info = describeContainer(c);
    return { ...info, service: roleOf(stack, c.Config.Labels?.['com.docker.swarm.service.name'] ?? '') };
  }).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** Whether any container (running or not) of the stack is left on this node. */
export async function stackHasContainers(env: Env, stack: string): Promise<boolean> {
  const ps = await capture(dockerBin(env), ['ps', '-a', '-q', '--filter', `label=com.docker.stack.namespace=${stack}`], env);
  return ps.stdout.trim() !== '';
}

/** One service of a stack as `docker service ls` reports it. */
export interface StackService {
  name: string;
  role: string;
  /** Tasks running / wanted, e.g. 2 of 2. */
  running: number;
  desired: number;
}

export async function stackServices(env: Env, stack: string): Promise<StackService[]> {
  const ls = await capture(dockerBin(env), ['service', 'ls', '--filter', `label=com.docker.stack.namespace=${stack}`, '--format', '{{.Name}} {{.Replicas}}'], env);
  if (ls.code !== 0) throw new BouyError('BOUY_ERR_NO_SWARM', `docker service ls failed: ${ls.stderr.trim()}`, { hint: NOT_A_MANAGER_HINT });
  return ls.stdout.split('\n').filter(Boolean).map((line) => {
    const [name = '', replicas = ''] = line.trim().split(/\s+/);
    // "2/2", or "2/2 (max 1 per node)"; a global service says the same.
    const [running = 0, desired = 0] = replicas.split('/').map((n) => Number.parseInt(n, 10));
    return { name, role: roleOf(stack, name), running, desired };
  });
}

/**
 * `docker stack deploy` resolves the image's digest on its registry unless told not to: a
 * local build has none (and this network may reach no registry), so only an image that came
 * from a registry is resolved (every node then runs the same digest).
 */
export async function resolveImageMode(env: Env, image: string): Promise<'always' | 'never'> {
  const inspected = await capture(dockerBin(env), ['image', 'inspect', '--format', '{{len .RepoDigests}}', image], env);
  return inspected.code === 0 && Number(inspected.stdout.trim()) > 0 ? 'always' : 'never';
}

/**
 * The arguments of `docker stack deploy` for the bouy stack; `pools`: the project's Swarm pools
 * file (compose/stack.pools.yml, written by `bouy pool add`), added when it exists.
 */
export function stackDeployArgs(root: string, stack: string, resolveImage: 'always' | 'never', pools?: string): string[] {
  const files = [path.join(root, STACK_FILE), ...(pools !== undefined && existsSync(pools) ? [pools] : [])];
  return ['stack', 'deploy', ...files.flatMap((f) => ['--compose-file', f]), '--resolve-image', resolveImage, '--prune', stack];
}

/** A stack name as `docker stack` takes it (it prefixes services, networks and volumes). */
export function stackName(value: unknown, option: string): string {
  if (typeof value !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(value)) {
    throw new BouyError('BOUY_ERR_USAGE', `${option} ${JSON.stringify(value)} is not valid: lowercase letters, digits, _ and -, e.g. bouy`);
  }
  return value;
}

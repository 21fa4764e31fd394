import { BouyError } from '../errors.js';
import type { Context } from './context.js';
import type { ContainerInfo } from './docker.js';
import { dockerBin } from './docker.js';
import { isWorkerService } from './pools.js';
import { attach } from './process.js';

/**
 * `bouy enqueue` and `bouy workers` where the stack's Redis is private (the prod overlay
 * publishes no Redis port): the same command line runs inside a container of the stack, with
 * the image's Node and bouy's CLI, where `redis:6379` (or the Redis the services are
 * configured with) answers. Nothing is published for it, and no password leaves the stack.
 */

/** Set on the CLI run inside: it uses the services' own Redis settings (see stackFleet). */
export const IN_STACK = 'BOUY_IN_STACK';

/** Services whose containers run the bouy image (Redis's does not), in the order they are tried; then any pool's. */
const BOUY_SERVICES = ['api', 'worker', 'scheduler', 'dashboard'];

/** Where bouy's CLI is in an image: an application's (bouy installed as a dependency), else bouy's own. */
const CLI_PATHS = ['/app/node_modules/bouy/dist/cli/main.js', '/app/dist/cli/main.js'];

/** Settings the services do not all carry that change what the command does (job defaults). */
const FORWARDED = ['JOB_ATTEMPTS', 'JOB_BACKOFF'];

/** A running container of the stack that has bouy's CLI, or undefined. */
export function cliContainer(containers: readonly ContainerInfo[]): ContainerInfo | undefined {
  for (const service of BOUY_SERVICES) {
    const found = containers.find((c) => c.service === service && c.state === 'running');
    if (found) return found;
  }
  // Only pools' workers running (`./bouy up worker-emails`): theirs is the same image.
  return containers.find((c) => isWorkerService(c.service) && c.state === 'running');
}

/** The `docker exec` arguments that run `argv` through bouy's CLI inside `container`. */
export function insideArgs(container: ContainerInfo, argv: readonly string[], env: Readonly<Record<string, string | undefined>>): string[] {
  const forwarded = FORWARDED.flatMap((name) => (env[name] ? ['-e', `${name}=${env[name]}`] : []));
  const script = `for f in ${CLI_PATHS.join(' ')}; do [ -f "$f" ] && exec node "$f" "$@"; done; `
    + `echo "bouy: no bouy CLI in this container (looked for ${CLI_PATHS.join(', ')})" >&2; exit 69`;
  return ['exec', '-e', `${IN_STACK}=1`, ...forwarded, container.id, 'sh', '-c', script, 'bouy', ...argv];
}

/** Runs this command line inside the stack; resolves to its exit status. */
export async function runInsideStack(ctx: Context): Promise<number> {
  const container = cliContainer(await ctx.containers());
  if (!container) {
    throw new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `the stack's Redis is not published to this host and no container of project ${ctx.project} runs bouy to ask it from inside`, {
      hint: 'start the workers (./bouy up worker), or point at a Redis with --redis-url (or BOUY_REDIS_URL)',
    });
  }
  ctx.out.debug(`the stack's Redis is private: running this command in ${container.name} (docker exec)`);
  return attach(dockerBin(ctx.env), insideArgs(container, ctx.argv, ctx.env), ctx.env, { stdout: 'inherit' });
}

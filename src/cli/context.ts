import { BouyError } from '../errors.js';
import { composeArgs, composeEnv, composeEnvFile, detectCompose, modeFromFiles, type ComposeCli, type Mode } from './compose.js';
import { envFile } from './dotenv.js';
import { assertEngine, projectContainers, type ContainerInfo } from './docker.js';
import type { Output } from './output.js';
import { isWorkerService, poolsFile, workerServiceNamed, WORKER_SERVICE, type WorkerService } from './pools.js';
import { attach, capture, type Captured, type Env } from './process.js';

/** The options every command accepts (yargs fills them; see parser.ts). */
export interface GlobalArgs {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
  project: string;
  dev: boolean;
  prod: boolean;
  test: boolean;
}

/**
 * What a command runs against: the checkout, the merged environment, the output, and the
 * compose project. Docker and Compose are looked up only when a command needs them, so
 * `--help`, `setup` and `enqueue` work without an engine.
 */
export class Context {
  private cli: Promise<ComposeCli> | undefined;

  /** `argv`: the command line as given, for a command that runs it again elsewhere (inside-stack.ts). */
  constructor(readonly root: string, readonly env: Env, readonly out: Output, readonly args: GlobalArgs, readonly argv: readonly string[] = []) {}

  get project(): string {
    return this.args.project;
  }

  /** Compose, after making sure an engine answers (exit 69 with guidance otherwise). */
  compose(): Promise<ComposeCli> {
    this.cli ??= (async () => {
      const engine = await assertEngine(this.env);
      const cli = await detectCompose(this.env);
      this.out.debug(`engine ${engine}, compose v${cli.version} (${cli.reported}) via \`${[cli.file, ...cli.prefix].join(' ')}\``);
      return cli;
    })();
    return this.cli;
  }

  containers(options: { all?: boolean } = {}): Promise<ContainerInfo[]> {
    return this.compose().then(() => projectContainers(this.env, this.project, options));
  }

  /** --dev/--prod/--test if given; else the mode the running stack was started in; else dev. */
  async mode(): Promise<Mode> {
    if (this.args.prod) return 'prod';
    if (this.args.test) return 'test';
    if (this.args.dev) return 'dev';
    for (const c of await this.containers({ all: true })) {
      const mode = modeFromFiles(c.configFiles);
      if (mode) return mode;
    }
    return 'dev';
  }

  private async invocation(args: readonly string[], mode?: Mode, extraEnv: Env = {}): Promise<[string, string[], Env]> {
    const cli = await this.compose();
    const full = composeArgs(cli, this.root, this.project, mode ?? (await this.mode()), args, composeEnvFile(envFile(this.root, this.env)), poolsFile(this.root, this.env));
    const shown = Object.entries(extraEnv).map(([k, v]) => `${k}=${v} `).join('');
    this.out.debug(`running: ${shown}${[cli.file, ...full].join(' ')}`);
    return [cli.file, full, composeEnv(cli, { ...this.env, ...extraEnv })];
  }

  /**
   * A compose command on this terminal; with --json its chatter goes to stderr. `progress`:
   * the output is Compose's progress (up, down), which --quiet keeps back unless it fails —
   * v1 has no flag to silence it, so it is captured rather than passed a flag.
   * `env`: variables for this call only (a worker container's health port).
   */
  async runCompose(args: readonly string[], mode?: Mode, options: { env?: Env; progress?: boolean } = {}): Promise<number> {
    const [file, full, env] = await this.invocation(args, mode, options.env);
    if (options.progress && this.args.quiet) {
      const result = await capture(file, full, env, this.root);
      if (result.code !== 0) process.stderr.write(result.stdout + result.stderr);
      return result.code;
    }
    return attach(file, full, env, { stdout: this.args.json ? 'stderr' : 'inherit', cwd: this.root });
  }

  async captureCompose(args: readonly string[], mode?: Mode): Promise<Captured> {
    const [file, full, env] = await this.invocation(args, mode);
    return capture(file, full, env);
  }
}

/**
 * Parses `service=N` (scale arguments). A worker service (`worker`, `worker-<pool>`) must be one
 * of `workers`, and its count is capped by its health ports (one per container).
 */
export function parseScale(value: string, workers: readonly WorkerService[] = []): { service: string; count: number } {
  const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(\d{1,3})$/.exec(value);
  if (!match) {
    throw new BouyError('BOUY_ERR_USAGE', `scale ${JSON.stringify(value)} is not valid: expected SERVICE=N, e.g. worker=3`);
  }
  const service = match[1]!;
  const count = Number(match[2]);
  if (!isWorkerService(service)) return { service, count };
  const { ports } = workerServiceNamed(workers, service);
  const max = ports.high - ports.low + 1;
  if (count > max) {
    throw new BouyError('BOUY_ERR_USAGE', `scale ${value}: ${service} takes 0-${max} containers, one per health port of ${ports.low}-${ports.high}`, {
      hint: service === WORKER_SERVICE
        ? 'raise WORKER_COUNT for more processes per container, or widen BOUY_HEALTH_PORTS (default 8080-8089)'
        : 'raise the pool\'s --workers for more processes per container, or give it more ports: bouy pool add … --health-ports LOW-HIGH',
    });
  }
  return { service, count };
}

/**
 * Every error bouy reports to a human comes from this catalogue: a stable code, an exit
 * status that means something to a shell (sysexits: 64 usage, 69 unavailable, 70 bug) and a
 * hint that says what to do next. Only the edges (entrypoint, CLI) turn these into exits.
 */
export const EXIT = Object.freeze({
  ok: 0,
  failure: 1,
  usage: 64,
  unavailable: 69,
  software: 70,
});

export type ErrorCode =
  | 'BOUY_ERR_CONFIG'
  | 'BOUY_ERR_UNKNOWN_SERVICE'
  | 'BOUY_ERR_PROCESSOR'
  | 'BOUY_ERR_PROCESSOR_CHECK'
  | 'BOUY_ERR_REDIS_UNREACHABLE'
  | 'BOUY_ERR_REDIS_AUTH'
  | 'BOUY_ERR_NO_FREE_PORT'
  | 'BOUY_ERR_USAGE'
  | 'BOUY_ERR_NO_DOCKER'
  | 'BOUY_ERR_NO_SWARM'
  | 'BOUY_ERR_STACK_NOT_RUNNING'
  | 'BOUY_ERR_NO_IMAGE'
  | 'BOUY_ERR_INTERNAL';

/** Every code with the exit status it means (sysexits). */
export const EXIT_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  BOUY_ERR_CONFIG: EXIT.usage,
  BOUY_ERR_UNKNOWN_SERVICE: EXIT.usage,
  BOUY_ERR_PROCESSOR: EXIT.usage,
  /** The processor's check() says it cannot work (credentials missing, model unreachable). */
  BOUY_ERR_PROCESSOR_CHECK: EXIT.unavailable,
  BOUY_ERR_REDIS_UNREACHABLE: EXIT.unavailable,
  /** Redis answered but refused the password or user: the configuration is wrong, not the network. */
  BOUY_ERR_REDIS_AUTH: EXIT.unavailable,
  BOUY_ERR_NO_FREE_PORT: EXIT.usage,
  /** The CLI was given arguments it cannot act on. */
  BOUY_ERR_USAGE: EXIT.usage,
  /** No Docker client, engine or Compose: nothing the CLI can drive. */
  BOUY_ERR_NO_DOCKER: EXIT.unavailable,
  /** `deploy` and `undeploy` need a swarm manager, and bouy initialises none by itself. */
  BOUY_ERR_NO_SWARM: EXIT.unavailable,
  /** The command needs a running stack (or its Redis) and there is none. */
  BOUY_ERR_STACK_NOT_RUNNING: EXIT.unavailable,
  /** The project's image is not on the engine and the project has no Dockerfile to build it from. */
  BOUY_ERR_NO_IMAGE: EXIT.unavailable,
  BOUY_ERR_INTERNAL: EXIT.software,
};

export class BouyError extends Error {
  override name = 'BouyError';
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = EXIT_BY_CODE[code];
    this.hint = options.hint;
  }
}

/** The text a person sees: message, then the hint on its own line. */
export function describeError(error: unknown): string {
  if (error instanceof BouyError) {
    return error.hint ? `${error.message}\n  hint: ${error.hint}` : error.message;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

export function exitCodeOf(error: unknown): number {
  return error instanceof BouyError ? error.exitCode : EXIT.software;
}

/** A worker could not import its processor (reported over IPC as text): the start fails, exit 64. */
export function processorUnusable(detail: string, hint?: string): BouyError {
  return new BouyError('BOUY_ERR_PROCESSOR', detail.split('\n')[0] ?? detail, {
    hint: hint ?? 'fix the module so that it can be imported, with a default export async (job) => result',
  });
}

/** Every worker's check() failed before any was ready (PROCESSOR_CHECK=fail): exit 69 with its detail and hint. */
export function processorCheckFailed(detail: string, hint: string | undefined): BouyError {
  return new BouyError('BOUY_ERR_PROCESSOR_CHECK', detail, {
    hint: hint ?? 'fix what the check reports, or set PROCESSOR_CHECK=warn to start anyway (health says degraded)',
  });
}

/**
 * A worker's start-up failure that no restart mends, as the error the start fails with: a
 * processor that cannot load (exit 64) or whose check() fails (exit 69). Anything else (Redis
 * refused, a bug) is left to the restart policy. The supervisor asks only before any worker
 * was ever ready: later, under a running fleet, it is a crash like any other.
 */
export function startFailure(report: { error: string; code?: string; hint?: string }): BouyError | undefined {
  if (report.code === 'BOUY_ERR_PROCESSOR') return processorUnusable(report.error, report.hint);
  if (report.code === 'BOUY_ERR_PROCESSOR_CHECK') return processorCheckFailed(report.error.split('\n')[0] ?? report.error, report.hint);
  return undefined;
}

/*
 * The messages said from more than one place, said one way: thrown by name.
 */

/** Settings that failed validation, every problem at once (exit 64). */
export function invalidConfiguration(problems: readonly string[], hint = 'fix the variables above (in the environment or .env) and start again'): BouyError {
  return new BouyError('BOUY_ERR_CONFIG', `invalid configuration:\n  - ${problems.join('\n  - ')}`, { hint });
}

/** A CLI command needs a running container of `service` (`what`: what it must also have). */
export function noRunningContainer(service: string, project: string, what = ''): BouyError {
  return new BouyError('BOUY_ERR_STACK_NOT_RUNNING', `no running ${service} container in project ${project}${what}`, {
    hint: `start it: ./bouy up ${service}`,
  });
}

import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Job } from 'bullmq';
import { BouyError } from '../errors.js';

/**
 * A processor's default export: runs one job and resolves to its result (stored by BullMQ as
 * the job's return value). `signal` fires on a job timeout (JOB_TIMEOUT_SECONDS) or a lost
 * lock: pass it to whatever the job waits on. Type the job's data and result with the
 * parameters: `const send: Processor<{ to: string }, { sent: boolean }> = async (job) => …`.
 */
// `any` data by default, as BullMQ's own Job: a processor that names no type reads job.data freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the public default, as above
export type Processor<Data = any, Result = unknown> = (job: Job<Data, Result>, token?: string, signal?: AbortSignal) => Promise<Result> | Result;

/** What the worker calls: any processor, its data and result unknown to bouy. */
export type JobProcessor = Processor<unknown, unknown>;

/** What `check()` answers: can this processor work (credentials accepted, model reachable)? */
export interface CheckResult { ok: boolean; detail?: string; hint?: string }

/** Handed to `setup(ctx)`: where the processor runs. */
export interface ProcessorContext { queue: string; worker: string; log: { info(o: object, m?: string): void; warn(o: object, m?: string): void } }

/** `setup(ctx)`: once per worker process and queue, before it takes a job; a throw stops the start. */
export type ProcessorSetup = (ctx: ProcessorContext) => unknown;
/** `check()`: at start and every PROCESSOR_CHECK_SECONDS; `{ ok: false }` fails the start (PROCESSOR_CHECK=fail). */
export type ProcessorCheck = () => CheckResult | Promise<CheckResult>;
/** `teardown()`: after the worker's last job (bounded; errors logged). */
export type ProcessorTeardown = () => unknown;
/** `describe()`: the processor's effective configuration, secrets left out, compared across workers. */
export type ProcessorDescribe = () => Record<string, unknown>;

/**
 * A processor module (the contract, README "Processors"): its default export runs jobs; the
 * optional exports are `setup(ctx)` (once per worker process before it takes a job), `check()`
 * (→ CheckResult, at start and every PROCESSOR_CHECK_SECONDS), `teardown()` (after the worker's
 * last job) and `describe()` (its effective configuration, secrets left out, which the start-up
 * verification compares across workers).
 */
export interface ProcessorModule {
  default: Processor;
  setup?: ProcessorSetup;
  check?: ProcessorCheck;
  teardown?: ProcessorTeardown;
  describe?: ProcessorDescribe;
}

/** A module as loaded: its default export, and each optional export when it is a function. */
export interface LoadedProcessor {
  process: JobProcessor;
  describe: ProcessorDescribe | undefined;
  setup: ProcessorSetup | undefined;
  check: ProcessorCheck | undefined;
  teardown: ProcessorTeardown | undefined;
}

type ImportedModule = Record<'default' | 'describe' | 'setup' | 'check' | 'teardown', unknown>;

function optional<T>(module: ImportedModule, name: keyof ImportedModule): T | undefined {
  return typeof module[name] === 'function' ? (module[name] as T) : undefined;
}

/** Where a worker's processors come from (Config's processor and processorsDir). */
export interface ProcessorSource {
  /** PROCESSOR: one module for every queue. */
  readonly processor: string | undefined;
  /** PROCESSORS_DIR: the folder of one module per queue, named after it. */
  readonly processorsDir: string | undefined;
}

/** bouy's own processors (the `llm` example): dist/processors, beside this module's folder. */
export const BUILT_IN_PROCESSORS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'processors');

/** The file names a queue's module may have, in the order they are looked for. */
export const PROCESSOR_EXTENSIONS = ['.ts', '.mjs', '.js'] as const;

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The folder of per-queue modules and how it was chosen: PROCESSORS_DIR when set (it must be a
 * folder); else `processors/` in the working directory when there is one (an application's,
 * /app/processors in its image); else bouy's built-in processors.
 */
export function processorsDirectory(setting: string | undefined, cwd = process.cwd()): { dir: string; origin: string } {
  if (setting !== undefined) {
    const dir = path.resolve(cwd, setting);
    if (!isDirectory(dir)) {
      throw new BouyError('BOUY_ERR_PROCESSOR', `PROCESSORS_DIR=${JSON.stringify(setting)} is not a folder (looked at ${dir})`, {
        hint: 'set PROCESSORS_DIR to the folder holding one module per queue (<queue>.ts, .mjs or .js), or unset it',
      });
    }
    return { dir, origin: `PROCESSORS_DIR=${JSON.stringify(setting)}` };
  }
  const local = path.join(cwd, 'processors');
  if (isDirectory(local)) return { dir: local, origin: `processors/ in the working directory ${cwd}` };
  return { dir: BUILT_IN_PROCESSORS_DIR, origin: `bouy's built-in processors (PROCESSORS_DIR unset, no processors/ folder in ${cwd})` };
}

const TYPESCRIPT = /\.[mc]?ts$/;

/**
 * Node runs a .ts module as is only where it strips types (22.18+, 23.6+; 24 in the image):
 * `process.features.typescript` says so. Elsewhere the import would fail with an unknown-
 * extension error that does not say why, so the start stops here, naming the file.
 */
function assertRunnable(file: string, origin: string): void {
  if (!TYPESCRIPT.test(file)) return;
  const features = process.features as { typescript?: unknown };
  if (features.typescript) return;
  throw new BouyError('BOUY_ERR_PROCESSOR', `${origin} is TypeScript and Node ${process.version} cannot run TypeScript as is (no type stripping)`, {
    hint: 'run on Node 22.18+ / 23.6+ (the image has Node 24), or compile the processor to a .js/.mjs module',
  });
}

/**
 * Finds a queue's processor module without importing it. The supervisor's pre-flight stops at
 * this: importing runs the module's top level (a client opened, a log line, a file written), and
 * the supervisor never runs jobs, so it would be one run too many — the workers import it, and
 * a module that fails there is reported by the first of them (see Supervisor: a processor
 * that cannot load before any worker was ready stops the start, exit 64).
 */
export function locateProcessor(queue: string, source: ProcessorSource): { file: string; origin: string } {
  if (source.processor) {
    const file = path.resolve(source.processor);
    const origin = `PROCESSOR=${JSON.stringify(source.processor)}`;
    if (!existsSync(file)) {
      throw new BouyError('BOUY_ERR_PROCESSOR', `${origin} does not exist (looked for ${file})`, {
        hint: 'set PROCESSOR to a .ts/.mjs/.js module whose default export is async (job) => result, or unset it to find one per queue',
      });
    }
    assertRunnable(file, origin);
    return { file, origin };
  }
  const { dir, origin: where } = processorsDirectory(source.processorsDir);
  const candidates = PROCESSOR_EXTENSIONS.map((ext) => path.join(dir, `${queue}${ext}`));
  const found = candidates.filter((file) => existsSync(file));
  if (found.length === 0) {
    throw new BouyError('BOUY_ERR_PROCESSOR', `no processor for queue "${queue}": none of ${candidates.join(', ')} exists (from ${where})`, {
      hint: `add processors/${queue}.ts (or .mjs, .js) with a default export async (job) => result, set PROCESSORS_DIR to its folder, or set PROCESSOR`,
    });
  }
  if (found.length > 1) {
    throw new BouyError('BOUY_ERR_PROCESSOR', `the processor for queue "${queue}" is ambiguous: ${found.join(' and ')} ${found.length === 2 ? 'both' : 'all'} exist`, {
      hint: `keep one module per queue in ${dir}`,
    });
  }
  const file = found[0]!;
  const origin = `the processor for queue "${queue}" (${file})`;
  assertRunnable(file, origin);
  return { file, origin };
}

/**
 * What to do about a module that would not import. The common one: `export` read as CommonJS,
 * because the nearest package.json says "type": "commonjs" (what `npm init -y` writes).
 */
function importHint(error: unknown, file: string): string {
  const esmAsCommonJs = error instanceof SyntaxError && /Unexpected token '?export|Cannot use import statement outside a module/.test(error.message);
  return esmAsCommonJs
    ? `Node read ${path.basename(file)} as CommonJS: put a package.json with { "type": "module" } in ${path.dirname(file)} (bouy init writes one), or name it .mjs`
    : 'fix the module so that it can be imported';
}

/**
 * Loads the function that processes a queue's jobs: PROCESSOR's default export, or the
 * project's processor named after the queue. A missing module or a default export that is not
 * a function is a configuration error (exit 64), reported before any worker starts.
 */
export async function loadProcessor(queue: string, source: ProcessorSource): Promise<LoadedProcessor> {
  const { file, origin } = locateProcessor(queue, source);
  let loaded: ImportedModule;
  try {
    loaded = (await import(pathToFileURL(file).href)) as ImportedModule;
  } catch (error) {
    throw new BouyError('BOUY_ERR_PROCESSOR', `${origin} failed to load: ${(error as Error).message}`, {
      hint: importHint(error, file), cause: error,
    });
  }
  if (typeof loaded.default !== 'function') {
    throw new BouyError('BOUY_ERR_PROCESSOR', `${origin} does not export a function as default (got ${typeof loaded.default})`, {
      hint: 'export default async function (job) { … }',
    });
  }
  return {
    process: loaded.default as JobProcessor,
    describe: optional(loaded, 'describe'),
    setup: optional(loaded, 'setup'),
    check: optional(loaded, 'check'),
    teardown: optional(loaded, 'teardown'),
  };
}

/** Each queue's module file, found and not imported (the supervisor's pre-flight). */
export function locateProcessors(queues: readonly string[], source: ProcessorSource): Record<string, string> {
  return Object.fromEntries(queues.map((queue) => [queue, locateProcessor(queue, source).file]));
}

/** Each queue's own module (or PROCESSOR's one for all), imported in this worker process. */
export async function loadProcessors(queues: readonly string[], source: ProcessorSource): Promise<Map<string, LoadedProcessor>> {
  const processors = new Map<string, LoadedProcessor>();
  for (const queue of queues) processors.set(queue, await loadProcessor(queue, source));
  return processors;
}

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Job } from 'bullmq';
import { BouyError } from '../errors.js';

export type JobProcessor = (job: Job, token?: string, signal?: AbortSignal) => Promise<unknown> | unknown;

/** What `check()` answers: can this processor work (credentials accepted, model reachable)? */
export interface CheckResult { ok: boolean; detail?: string; hint?: string }

/** Handed to `setup(ctx)`: where the processor runs. */
export interface ProcessorContext { queue: string; worker: string; log: { info(o: object, m?: string): void; warn(o: object, m?: string): void } }

/**
 * A processor module (the contract, README "Processors"): its default export runs jobs; the
 * optional exports are `setup(ctx)` (once per worker process before it takes a job), `check()`
 * (→ CheckResult, at start and every PROCESSOR_CHECK_SECONDS), `teardown()` (after the worker's
 * last job) and `describe()` (its effective configuration, secrets left out, which the start-up
 * verification compares across workers).
 */
export interface LoadedProcessor {
  process: JobProcessor;
  describe: (() => Record<string, unknown>) | undefined;
  setup: ((ctx: ProcessorContext) => unknown) | undefined;
  check: (() => CheckResult | Promise<CheckResult>) | undefined;
  teardown: (() => unknown) | undefined;
}

type ProcessorModule = Record<'default' | 'describe' | 'setup' | 'check' | 'teardown', unknown>;

function optional<T>(module: ProcessorModule, name: keyof ProcessorModule): T | undefined {
  return typeof module[name] === 'function' ? (module[name] as T) : undefined;
}

/** Where the project's own processors live: one module per queue, named after it. */
const PROCESSORS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'processors');

function moduleFor(queue: string, explicit: string | undefined): { file: string; origin: string } {
  if (explicit) return { file: path.resolve(explicit), origin: `PROCESSOR=${JSON.stringify(explicit)}` };
  return { file: path.join(PROCESSORS_DIR, `${queue}.js`), origin: `the processor for queue "${queue}"` };
}

/**
 * Finds a queue's processor module without importing it. The supervisor's pre-flight stops at
 * this: importing runs the module's top level (a client opened, a log line, a file written), and
 * the supervisor never runs jobs, so it would be one run too many — the workers import it, and
 * a module that fails there is reported by the first of them (see Supervisor: a processor
 * that cannot load before any worker was ready stops the start, exit 64).
 */
export function locateProcessor(queue: string, explicit: string | undefined): { file: string; origin: string } {
  const found = moduleFor(queue, explicit);
  if (!existsSync(found.file)) {
    throw new BouyError('BOUY_ERR_PROCESSOR', `${found.origin} does not exist (looked for ${found.file})`, {
      hint: explicit
        ? 'set PROCESSOR to a .js/.mjs module whose default export is async (job) => result'
        : `set PROCESSOR, or add src/processors/${queue}.ts exporting a default function`,
    });
  }
  return found;
}

/**
 * Loads the function that processes a queue's jobs: PROCESSOR's default export, or the
 * project's processor named after the queue. A missing module or a default export that is not
 * a function is a configuration error (exit 64), reported before any worker starts.
 */
export async function loadProcessor(queue: string, explicit: string | undefined): Promise<LoadedProcessor> {
  const { file, origin } = locateProcessor(queue, explicit);
  let loaded: ProcessorModule;
  try {
    loaded = (await import(pathToFileURL(file).href)) as ProcessorModule;
  } catch (error) {
    throw new BouyError('BOUY_ERR_PROCESSOR', `${origin} failed to load: ${(error as Error).message}`, {
      hint: 'fix the module so that it can be imported', cause: error,
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

export function locateProcessors(queues: readonly string[], explicit: string | undefined): void {
  for (const queue of queues) locateProcessor(queue, explicit);
}

export async function loadProcessors(queues: readonly string[], explicit: string | undefined): Promise<Map<string, LoadedProcessor>> {
  const processors = new Map<string, LoadedProcessor>();
  for (const queue of queues) processors.set(queue, await loadProcessor(queue, explicit));
  return processors;
}

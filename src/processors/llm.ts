/**
 * The built-in example for the default `llm` queue, written as the template of a real model
 * processor: it stands in for a provider's client so a fresh stack has something to run.
 *
 * To use a real model, copy this file and replace `SimulatedClient` with the provider's SDK:
 * open the client in `setup()` (once per worker process), make `check()` a cheap authenticated
 * call (list models, say) that answers `{ ok: false, detail, hint }` when the key is missing or
 * refused, pass `signal` to the SDK's request so a job timeout (JOB_TIMEOUT_SECONDS) stops the
 * call, throw an error with `retryAfterMs` on a 429 so the whole queue waits, and close the
 * client in `teardown()`. Point PROCESSOR at the built module. Credentials come from the
 * environment through src/config (here LLM_API_KEY, loadLlmSettings), never from logs or data.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { loadLlmSettings, type LlmSettings } from '../config/llm.js';
import type { CheckResult, ProcessorContext } from '../worker/load-processor.js';

interface LlmJob {
  prompt?: unknown;
  /** Simulated model latency. */
  latency_ms?: unknown;
  /** Simulated transient provider errors (a 503, a reset connection) before the call succeeds. */
  transient_failures?: unknown;
}

const MAX_ATTEMPTS = 4;
const FIRST_BACKOFF_MS = 100;

/** A provider error worth retrying (5xx, connection reset), as opposed to a bad request. */
class TransientError extends Error {
  override name = 'TransientError';
}

/** Resolves after `ms`, or rejects as soon as `signal` fires (a job timeout, a shutdown). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error(`aborted: ${String(signal.reason)}`));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error(`aborted: ${String(signal.reason)}`));
    }, { once: true });
  });
}

/** Stands in for a provider SDK: takes `latencyMs`, fails the first `failures` calls of a job. */
class SimulatedClient {
  private readonly calls = new Map<string, number>();
  constructor(readonly settings: LlmSettings) {}

  async complete(jobId: string, prompt: string, latencyMs: number, failures: number, signal: AbortSignal | undefined): Promise<string> {
    const call = (this.calls.get(jobId) ?? 0) + 1;
    this.calls.set(jobId, call);
    await sleep(latencyMs, signal);
    if (call <= failures) throw new TransientError(`simulated 503 from the provider (call ${call})`);
    this.calls.delete(jobId);
    return `echo: ${prompt}`;
  }
}

let client: SimulatedClient | undefined;
let workerName: string | undefined;

/** Once per worker process, before its first job: open the client. */
export function setup(ctx: ProcessorContext): void {
  const settings = loadLlmSettings();
  client = new SimulatedClient(settings);
  workerName = ctx.worker;
  ctx.log.info({ model: settings.model, credentials: settings.apiKey ? 'set' : 'missing' }, 'llm client ready');
}

/** Can this worker call the model? A real one makes a cheap authenticated request here. */
export function check(): CheckResult {
  const settings = client?.settings ?? loadLlmSettings();
  if (!settings.apiKey) {
    return {
      ok: false,
      detail: 'LLM_API_KEY is not set: the llm processor has no credentials',
      hint: 'set LLM_API_KEY (in .env for ./bouy, or the container environment); the built-in example accepts any value',
    };
  }
  return { ok: true, detail: `credentials set for ${settings.model}` };
}

export function describe(): Record<string, unknown> {
  return { model: loadLlmSettings().model, retries: MAX_ATTEMPTS - 1 };
}

/** Retries a transient error with exponential backoff; a job timeout (signal) ends the wait. */
export default async function processLlmJob(job: Job<LlmJob>, _token?: string, signal?: AbortSignal): Promise<{ completion: string; worker: string | undefined }> {
  const { prompt, latency_ms: latency = 50, transient_failures: failures = 0 } = job.data ?? {};
  if (typeof prompt !== 'string' || prompt.length === 0) {
    throw new UnrecoverableError(`job ${job.id}: data.prompt must be a non-empty string, got ${JSON.stringify(prompt)}`);
  }
  const ms = typeof latency === 'number' && latency >= 0 && latency <= 60_000 ? latency : 50;
  const fail = typeof failures === 'number' && Number.isInteger(failures) && failures >= 0 ? failures : 0;
  client ??= new SimulatedClient(loadLlmSettings());
  for (let attempt = 1; ; attempt += 1) {
    try {
      const completion = await client.complete(job.id ?? '', prompt, ms, fail, signal);
      return { completion, worker: workerName };
    } catch (error) {
      if (!(error instanceof TransientError) || attempt >= MAX_ATTEMPTS) throw error;
      await sleep(FIRST_BACKOFF_MS * 2 ** (attempt - 1), signal);
    }
  }
}

/** After the worker's last job: a real client closes its connections here. */
export function teardown(): void {
  client = undefined;
}

import { UnrecoverableError, type Job } from 'bullmq';

interface LlmJob {
  prompt?: unknown;
  /** Simulated model latency. */
  latency_ms?: unknown;
}

/**
 * The built-in example for the default `llm` queue: stands in for a model call so a fresh
 * stack has something to run. Replace it with your own module through PROCESSOR.
 */
export default async function processLlmJob(job: Job<LlmJob>): Promise<{ completion: string; worker: string | undefined }> {
  const { prompt, latency_ms: latency = 50 } = job.data ?? {};
  if (typeof prompt !== 'string' || prompt.length === 0) {
    throw new UnrecoverableError(`job ${job.id}: data.prompt must be a non-empty string, got ${JSON.stringify(prompt)}`);
  }
  const ms = typeof latency === 'number' && latency >= 0 && latency <= 60_000 ? latency : 50;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { completion: `echo: ${prompt}`, worker: process.env.WORKER_NAME };
}

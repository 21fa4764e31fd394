/**
 * Settings of the built-in `llm` example processor (src/processors/llm.ts). A real model
 * client reads its credentials the same way: here, in src/config, never from process.env
 * scattered through the processor.
 */
import type { Env } from './parse.js';

export interface LlmSettings {
  /** The (simulated) provider credential; the processor's check() fails without it. */
  readonly apiKey: string | undefined;
  /** @defaultValue simulated-1 */
  readonly model: string;
}

export function loadLlmSettings(env: Env = process.env): LlmSettings {
  const apiKey = env.LLM_API_KEY?.trim();
  return Object.freeze({ apiKey: apiKey ? apiKey : undefined, model: env.LLM_MODEL?.trim() || 'simulated-1' });
}

/**
 * bouy's public types, for an application's processors (`import type { Processor } from 'bouy'`).
 * The contract itself lives where bouy loads processors (worker/load-processor.ts): exported
 * from there, never restated here, so what a team types against is what the worker calls.
 * Types only: bouy runs as a command (`npx bouy`) and as an image's entrypoint, not as a library.
 */
export type {
  CheckResult,
  Processor,
  ProcessorCheck,
  ProcessorContext,
  ProcessorDescribe,
  ProcessorModule,
  ProcessorSetup,
  ProcessorTeardown,
} from './worker/load-processor.js';
export type { Job } from 'bullmq';

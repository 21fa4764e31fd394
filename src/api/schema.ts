import { MAX_TIMEOUT_MS } from '../jobs/timeout.js';

/** Largest job payload accepted: Redis holds every job, and a queue is not a blob store. */
export const BODY_LIMIT_BYTES = 1024 * 1024;
/** Longest `opts.delay`: one year in ms. Longer is a mistake (seconds for ms) or a scheduler's job. */
export const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;

export interface EnqueueBody {
  name?: string;
  data: Record<string, unknown>;
  opts?: { delay?: number; attempts?: number; priority?: number; jobId?: string; timeout?: number };
}

export const enqueueSchema = {
  params: { type: 'object', properties: { queue: { type: 'string' } }, required: ['queue'] },
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['data'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 200 },
      data: { type: 'object' },
      opts: {
        type: 'object',
        additionalProperties: false,
        properties: {
          delay: { type: 'integer', minimum: 0, maximum: MAX_DELAY_MS },
          attempts: { type: 'integer', minimum: 1, maximum: 100 },
          priority: { type: 'integer', minimum: 0, maximum: 2097152 },
          jobId: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^:]+$' },
          /** JOB_TIMEOUT_SECONDS for this job, in the unit jobs/timeout.ts states. */
          timeout: { type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_MS },
        },
      },
    },
  },
} as const;

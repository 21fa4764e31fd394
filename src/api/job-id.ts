import { QueueKeys } from 'bullmq';

/**
 * Names BullMQ keeps under `<prefix>:<queue>:` for the queue itself. A job's hash lives at
 * `<prefix>:<queue>:<jobId>`, so a job id equal to one of these would write a hash over the
 * queue's own list, set or stream and poison every worker of it (WRONGTYPE in a loop). The
 * list comes from BullMQ's QueueKeys; the rest are keys its scripts build by hand (legacy
 * `priority`/`delay`, `metrics:*`, deduplication `dn:*`, the `waiting` state alias).
 */
export const BULLMQ_KEY_NAMES: ReadonlySet<string> = new Set([
  ...Object.keys(new QueueKeys().getKeys('q')).filter((name) => name !== ''),
  'waiting', 'priority', 'delay', 'metrics', 'dn', 'stalled-check', 'waiting-children',
]);

/** Digits only (optionally signed): BullMQ refuses them as custom ids; its own ids are such numbers. */
const INTEGER_LIKE = /^-?\d+$/;

/**
 * Why a client-chosen `opts.jobId` is refused, or undefined when it is fine. The schema has
 * already bounded its length and ruled out `:` (a job's own keys are `<jobId>:logs`, `:lock`…).
 */
export function jobIdProblem(id: string): string | undefined {
  if (BULLMQ_KEY_NAMES.has(id)) return `opts.jobId ${JSON.stringify(id)} is the name of one of BullMQ's own keys of the queue; choose another id`;
  if (INTEGER_LIKE.test(id)) return `opts.jobId ${JSON.stringify(id)} is a whole number, which BullMQ keeps for the ids it assigns; use an id with a letter in it`;
  return undefined;
}

/** Whether `id` can name a job at all (a GET of anything else is a 404 without asking Redis). */
export function canBeJobId(id: string): boolean {
  return id.length > 0 && id.length <= 200 && !id.includes(':') && !BULLMQ_KEY_NAMES.has(id);
}

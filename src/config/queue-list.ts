import type { Env, Problems } from './parse.js';

/** QUEUE_NAME: the queues each worker consumes and in which order it takes their jobs. */
export interface QueueList {
  /** Queue names, in the order given. */
  readonly queues: readonly string[];
  /**
   * One weight per queue (`emails:3,thumbnails:1`): the share of fetches each queue gets while
   * several have work. Undefined: strict priority, the first queue's jobs before any other's.
   */
  readonly weights: readonly number[] | undefined;
}

const NAME = /^[A-Za-z0-9_.-]+$/;
export const MAX_QUEUE_WEIGHT = 1000;
const FORMS = `a queue name or a comma list of them (letters, digits, _ . -), highest priority first; or NAME:WEIGHT for every queue (weights 1-${MAX_QUEUE_WEIGHT}, e.g. emails:3,thumbnails:1) to share fetches by weight`;

/** Parses QUEUE_NAME; every problem is added to `problems` naming QUEUE_NAME and what is allowed. */
export function parseQueueList(env: Env, problems: Problems, fallback = 'llm'): QueueList {
  const raw = env.QUEUE_NAME;
  const value = raw === undefined ? fallback : raw.trim();
  const parts = value.split(',').map((part) => part.trim());
  const entries = parts.map((part) => {
    const at = part.lastIndexOf(':');
    return at < 0 ? { name: part, weight: undefined } : { name: part.slice(0, at), weight: part.slice(at + 1) };
  });
  const bad = () => {
    problems.add('QUEUE_NAME', raw, FORMS);
    return { queues: Object.freeze([fallback]), weights: undefined };
  };
  if (value === '' || entries.some((e) => !NAME.test(e.name))) return bad();
  const weighted = entries.filter((e) => e.weight !== undefined).length;
  if (weighted > 0 && weighted < entries.length) {
    problems.add('QUEUE_NAME', raw, 'a weight on every queue or on none (strict priority): e.g. emails:3,thumbnails:1');
    return { queues: Object.freeze([fallback]), weights: undefined };
  }
  const weights = weighted === 0 ? undefined : entries.map((e) => (/^\d{1,4}$/.test(e.weight!) ? Number(e.weight) : Number.NaN));
  if (weights?.some((w) => !(w >= 1 && w <= MAX_QUEUE_WEIGHT))) {
    problems.add('QUEUE_NAME', raw, `each weight a whole number from 1 to ${MAX_QUEUE_WEIGHT} (the queue's share of fetches), e.g. emails:3,thumbnails:1`);
    return { queues: Object.freeze([fallback]), weights: undefined };
  }
  const names = entries.map((e) => e.name);
  const twice = names.find((queue, i) => names.indexOf(queue) !== i);
  if (twice) problems.add('QUEUE_NAME', raw, `each queue once (${twice} is listed twice)`);
  return { queues: Object.freeze(names), weights: weights && Object.freeze(weights) };
}

/** QUEUE_NAME as configured: `a,b` or `a:3,b:1`. */
export function describeQueues(list: QueueList): string {
  return list.queues.map((queue, i) => (list.weights ? `${queue}:${list.weights[i]}` : queue)).join(',');
}

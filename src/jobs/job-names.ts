/**
 * Longest text (a job name, queue or id: chosen by whoever enqueues) that bouy repeats in
 * /health, /metrics labels and the fleet page. A 1 MB name otherwise made every /health 1 MB.
 */
export const MAX_TEXT = 120;

/** Where the job names past JOB_NAME_LIMIT are counted, by the workers and the supervisor alike. */
export const OTHER_JOB_NAMES = 'other';

/** `text` as shown everywhere: itself, or its first MAX_TEXT − 1 characters and `…`. */
export const clip = (text: string): string => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text);

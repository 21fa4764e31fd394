/**
 * What a failed Redis command means, from the error ioredis gave. The kinds label
 * `bouy_redis_errors_total{kind}`; the refusals are Redis answering but refusing writes, which
 * is neither a bug of ours (500) nor Redis being away: a 503 and a `/health` reason that says why.
 */
export type RedisErrorKind = 'oom' | 'readonly' | 'misconf' | 'timeout' | 'connection' | 'other';

export const REDIS_ERROR_KINDS: readonly RedisErrorKind[] = ['oom', 'readonly', 'misconf', 'timeout', 'connection', 'other'];

/** The reason given for each kind of refusal (the api's 503, /health and /readyz `reasons`). */
export const WRITE_REFUSALS: Readonly<Partial<Record<RedisErrorKind, string>>> = {
  oom: 'redis refuses writes: out of memory',
  readonly: 'redis refuses writes: it is a read-only replica',
  misconf: 'redis refuses writes: it cannot persist to disk (MISCONF)',
};

/** What ioredis says when a command could not be sent, or the connection failed. */
const CONNECTION = /Stream isn't writeable|Connection is closed|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Reached the max retries/;

/** Redis's own error codes, the first word of its reply; EXECABORT carries the queued commands' errors. */
function replyKind(message: string): RedisErrorKind | undefined {
  if (message.startsWith('OOM ')) return 'oom';
  if (message.startsWith('READONLY ')) return 'readonly';
  if (message.startsWith('MISCONF ')) return 'misconf';
  return undefined;
}

export function redisErrorKind(error: unknown): RedisErrorKind {
  const { message = '', name, previousErrors } = (error ?? {}) as { message?: string; name?: string; previousErrors?: unknown[] };
  const kind = replyKind(message);
  if (kind) return kind;
  // A MULTI whose commands were refused (a heartbeat under OOM): EXECABORT, the reason inside.
  if (message.startsWith('EXECABORT') && Array.isArray(previousErrors)) {
    for (const previous of previousErrors) {
      const inner = replyKind(String((previous as { message?: unknown } | null)?.message ?? ''));
      if (inner) return inner;
    }
  }
  if (/Command timed out/.test(message)) return 'timeout';
  if (CONNECTION.test(message) || name === 'MaxRetriesPerRequestError') return 'connection';
  return 'other';
}

/** The refusal reason of an error, when Redis refused a write (see WRITE_REFUSALS). */
export function writeRefusal(error: unknown): string | undefined {
  return WRITE_REFUSALS[redisErrorKind(error)];
}

import type { FastifyError, FastifyInstance } from 'fastify';
import { redisErrorKind, WRITE_REFUSALS } from '../redis-errors.js';

/** Seconds a client is asked to wait (Retry-After) when Redis is away. */
export const RETRY_AFTER_SECONDS = 2;

/**
 * Every error becomes a deliberate answer: Redis refusing writes (full, a replica, unable to
 * persist) or away is a 503 with Retry-After that says why and whether anything may have been
 * written; a client error keeps its 4xx and message; anything else is a 500, which is a bug, so
 * it is logged with the request and the error.
 */
export function answerErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const kind = redisErrorKind(error);
    const refusal = WRITE_REFUSALS[kind];
    if (refusal) {
      request.log.warn({ method: request.method, url: request.url, reason: refusal }, `api request refused: ${refusal}`);
      return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({
        error: 'redis refuses writes',
        message: `${refusal}; nothing was written: retry in ${RETRY_AFTER_SECONDS} s`,
      });
    }
    if (kind === 'connection' || kind === 'timeout') {
      request.log.debug({ method: request.method, url: request.url, reason: error.message }, 'api request refused: Redis unavailable');
      // Not connected: nothing was sent. Timed out: Redis holds the command and may yet apply it.
      const outcome = /timed out/.test(error.message) ? 'Redis did not answer in time, so whether it took the request is unknown' : 'Redis is not reachable; nothing was written';
      return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({
        error: 'redis unavailable',
        message: `${outcome}: retry in ${RETRY_AFTER_SECONDS} s (with opts.jobId a retry never adds the job twice)`,
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error, method: request.method, url: request.url }, `api ${request.method} ${request.url} failed: ${error.message}`);
      return reply.code(500).send({ error: 'internal error', message: 'the api failed to handle this request; its log says why' });
    }
    if (status === 401) return reply.code(401).send({ error: 'unauthorized', message: 'this route needs `Authorization: Bearer <API_TOKEN>`' });
    return reply.code(status).send({ error: error.code ?? 'bad request', message: error.message });
  });
}

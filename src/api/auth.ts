import bearerAuth from '@fastify/bearer-auth';
import type { FastifyInstance } from 'fastify';
import { sameSecret } from '../http/credentials.js';

/**
 * `Authorization: Bearer <token>` on every route of `app` but `open` (the orchestrator's
 * probes), unknown paths included (401, not 404, so nothing is learnt without the token). The
 * comparison is sameSecret's: constant time whatever the length of what was sent.
 */
export async function requireBearerToken(app: FastifyInstance, token: string, open: readonly string[]): Promise<void> {
  await app.register(bearerAuth, { keys: [], auth: (given: string) => sameSecret(given, token), addHook: false, verifyErrorLogLevel: 'debug' });
  const openRoutes = new Set(open);
  app.addHook('onRequest', (request, reply, done) => {
    if (openRoutes.has(request.routeOptions.url ?? '')) return done();
    app.verifyBearerAuth!(request, reply, done);
  });
}

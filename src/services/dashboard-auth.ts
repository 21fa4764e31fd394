import basicAuth from '@fastify/basic-auth';
import type { FastifyInstance } from 'fastify';
import { sameSecret } from '../http/credentials.js';

/**
 * HTTP Basic on every route of `app` except `open` (the orchestrator's probes): the bull-board
 * page and its API alike, including routes registered after this call and unknown paths.
 */
export async function requireBasicAuth(app: FastifyInstance, user: string, password: string, open: readonly string[]): Promise<void> {
  await app.register(basicAuth, {
    authenticate: { realm: 'bouy dashboard' },
    async validate(givenUser, givenPassword) {
      // Both compared, always: no early return that would time whether the user was right.
      const userOk = sameSecret(givenUser, user);
      const passwordOk = sameSecret(givenPassword, password);
      if (!(userOk && passwordOk)) throw new Error('wrong user name or password');
    },
  });
  const openPaths = new Set(open);
  app.addHook('onRequest', (request, reply, done) => {
    const path = request.url.split('?', 1)[0]!;
    if (openPaths.has(path)) {
      done();
      return;
    }
    app.basicAuth(request, reply, done);
  });
}

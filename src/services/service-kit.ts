import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { integer, Problems } from '../config/parse.js';
import { BouyError } from '../errors.js';
import { pingWithin } from '../redis.js';
import { onShutdownSignal } from './signals.js';

/** A port from the environment, validated like every other setting (exit 64 naming it). */
export function portFromEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const problems = new Problems();
  const port = integer(env, problems, name, fallback, 1, 65535);
  if (problems.list.length > 0) throw new BouyError('BOUY_ERR_CONFIG', `invalid configuration:\n  - ${problems.list.join('\n  - ')}`);
  return port;
}

/** /livez (the process answers) and /readyz (Redis answers) for a service's orchestrator. */
export function addProbes(app: FastifyInstance, redis: Redis): void {
  app.get('/livez', async () => ({ status: 'alive' }));
  app.get('/readyz', async (_request, reply) => {
    const ok = await pingWithin(redis, 1000);
    return reply.code(ok ? 200 : 503).send({ ready: ok, redis: ok });
  });
}

/** Resolves with the first shutdown signal. */
export function untilShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const remove = onShutdownSignal((signal) => {
      remove();
      resolve(signal);
    });
  });
}

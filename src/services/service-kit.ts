import type { FastifyInstance } from 'fastify';
import type { Redis, RedisOptions } from 'ioredis';
import { type Config } from '../config/config.js';
import { integer, Problems } from '../config/parse.js';
import { BouyError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { assertRedisReachable, connect, pingWithin } from '../redis.js';
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

/**
 * What every role after pre-flight has: its logger (tagged with the role) and a Redis
 * connection, made only once Redis answered. `preflight` runs first, for role-specific checks.
 */
export async function startRole(
  config: Config, role: string, preflight: () => Promise<void> = async () => {}, redisOptions: RedisOptions = {},
): Promise<{ log: Logger; redis: Redis }> {
  const log = createLogger({ level: config.logLevel, format: config.logFormat, name: 'bouy', base: { role, host: config.hostname } });
  await preflight();
  await assertRedisReachable(config.redisUrl);
  const redis = connect(config.redisUrl, redisOptions);
  redis.on('error', (error) => log.warn({ err: error }, `${role} Redis connection error`));
  return { log, redis };
}

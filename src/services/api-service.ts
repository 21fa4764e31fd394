import { buildApiApp, API_REDIS_OPTIONS } from '../api/app.js';
import { loadApiSettings } from '../config/api.js';
import { withReleasers } from './releasers.js';
import type { Service } from './service.js';
import { startRole, untilShutdownSignal } from './service-kit.js';

/**
 * The `api` service: enqueue a job (POST /jobs/:queue) and read its state (GET
 * /jobs/:queue/:id) on API_HOST:API_PORT; the routes are in src/api/. Settings are checked
 * before Redis is: a bad one, or no API_TOKEN on a non-loopback address, exits 64.
 */
export const apiService: Service = {
  description: 'HTTP API to enqueue jobs and read their state on API_PORT (8000)',
  run: () => withReleasers(async (releasers) => {
    const config = loadApiSettings();
    const { apiHost: host, apiPort: port, token, authentication: auth } = config;
    const { log, redis } = await startRole(config, 'api', releasers, { redisOptions: API_REDIS_OPTIONS });
    const api = await buildApiApp({ redis, queues: config.queues, bullPrefix: config.bullPrefix, keyPrefix: config.keyPrefix, log, token, jobDefaults: config.jobDefaults, hostname: config.hostname });
    releasers.add('api server and queues', () => api.close());
    await api.app.listen({ host, port });
    log.info({ address: host, port, queues: config.queues, auth }, `api on http://${host}:${port}/ (authentication: ${auth})`);
    await untilShutdownSignal();
    return 0;
  }),
};

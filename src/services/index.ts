import type { Service } from './service.js';

/**
 * The services of the image. Loaded lazily so that `worker` does not pay for the dashboard's
 * dependencies and the other way round. Add a service here and the entrypoint routes to it.
 */
export const SERVICES: Readonly<Record<string, () => Promise<Service>>> = Object.freeze({
  worker: async () => (await import('./worker-service.js')).workerService,
  scheduler: async () => (await import('./scheduler-service.js')).schedulerService,
  dashboard: async () => (await import('./dashboard-service.js')).dashboardService,
  api: async () => (await import('./api-service.js')).apiService,
});

export function serviceNames(): string[] {
  return Object.keys(SERVICES);
}

import { defineConfig } from 'vitest/config';

// Two suites: `unit` needs only a local redis-server (each file starts its own),
// `e2e` needs a Docker engine. Both run real processes, so they get generous timeouts
// and files run one at a time where they compete for the same two cores.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          setupFiles: ['test/helpers/leak-guard.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          // One file at a time, on any number of cores: files start supervisors, kill Redis
          // servers and time restarts, and several at once on 8 cores would starve each other's
          // timing bounds (vitest's default is one file per core minus one).
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

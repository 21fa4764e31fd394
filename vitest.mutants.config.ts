import { defineConfig } from 'vitest/config';

// What `npm run mutants` (StrykerJS) runs against each mutant: only the pure unit tests of the
// decision modules — no redis-server, no child process, nothing that waits. Every mutant reruns
// these, so they must take milliseconds; the behaviour on real Redis and real processes is
// the `unit` project's job (vitest.config.ts).
export default defineConfig({
  test: {
    include: ['test/decisions/**/*.test.ts'],
    testTimeout: 10_000,
    // Stryker switches mutants at run time (one instrumented build), so nothing needs importing
    // afresh per run: without isolation a mutant costs its tests, not the CLI's and Fastify's
    // import (seconds each on this machine).
    isolate: false,
  },
});

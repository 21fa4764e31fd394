import { afterEach, expect } from 'vitest';
import { started } from './processes.js';
import { waitFor } from './wait.js';

/**
 * A test that leaves a supervisor running fails: leaked processes are bugs, and they would
 * steal jobs from the next test.
 */
afterEach(async () => {
  const alive = () => [...started].filter((p) => p.exitCode === null && p.signalCode === null);
  try {
    await waitFor(() => alive().length === 0, 'processes started by the test to exit', 5_000);
  } catch {
    const leaked = alive().map((p) => p.pid);
    for (const p of alive()) p.kill('SIGKILL');
    started.clear();
    expect.fail(`test left processes running: ${leaked.join(', ')}`);
  }
  started.clear();
});

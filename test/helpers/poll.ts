/**
 * Polls `read` until `done(value)` holds or `timeoutMs` passes, and returns the last value
 * either way: the test then asserts on it, so a condition that never came fails with what
 * was seen instead of a bare timeout.
 */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

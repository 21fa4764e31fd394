export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The one polling loop of the tests: runs `step` every `everyMs` until it returns a result. */
async function poll<R>(step: () => Promise<R | undefined>, everyMs: number): Promise<R> {
  for (;;) {
    const result = await step();
    if (result !== undefined) return result;
    await sleep(everyMs);
  }
}

/** Polls `condition` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(condition: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  return poll(async () => {
    try {
      const value = await condition();
      if (value) return value as Truthy<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    }
    return undefined;
  }, everyMs);
}

/**
 * Polls `read` until `done(value)` holds or `timeoutMs` passes, and returns the last value
 * either way: the test then asserts on it, so a condition that never came fails with what
 * was seen instead of a bare timeout. An error of `read` fails at once.
 */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const last = await poll(async () => {
    const value = await read();
    return done(value) || Date.now() > deadline ? { value } : undefined;
  }, everyMs);
  return last.value;
}

/** How old a Redis fact a health answer may show. */
export const HEALTH_FRESH_MS = 250;

/**
 * A read that concurrent health requests share: one in flight at a time, and its answer reused
 * for `freshMs` after it came. At 1,000 /health requests a second, each one's own PING, fleet
 * and leader reads (three round trips, three socket writes) were most of the supervisor's CPU,
 * and /health's p99 was 10–14 ms on this 2-core machine; a probe now sees facts at most
 * `freshMs` old. A read that fails is not kept: the next request tries again.
 */
export function sharedRead<T>(read: () => Promise<T>, freshMs = HEALTH_FRESH_MS): () => Promise<T> {
  let current: Promise<T> | undefined;
  let settledAt: number | undefined;
  return () => {
    if (current && (settledAt === undefined || Date.now() - settledAt < freshMs)) return current;
    settledAt = undefined;
    const reading = read();
    current = reading;
    reading.then(
      () => { if (current === reading) settledAt = Date.now(); },
      () => { if (current === reading) current = undefined; },
    );
    return reading;
  };
}

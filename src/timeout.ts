/**
 * Settles with `fallback` if `work` has not settled within `timeoutMs`. Our connections queue
 * commands while Redis is away (maxRetriesPerRequest: null), so anything a health check asks
 * Redis must be bounded or the check hangs exactly when it matters.
 */
export async function within<T>(work: Promise<T>, timeoutMs: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), timeoutMs);
  });
  try {
    return await Promise.race([work.catch(() => fallback), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

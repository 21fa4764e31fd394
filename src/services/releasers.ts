/**
 * Resources a service holds, released one way: each is registered where it is created, and on
 * the way out every releaser runs, last registered first (a server closes before the Redis
 * connection it reads from). A releaser that fails does not stop the others; the first error
 * is rethrown once all have run. The model is graphile-worker's `withReleasers`.
 */
export class Releasers {
  private readonly stack: Array<{ name: string; release: () => unknown }> = [];
  private released: Promise<void> | undefined;

  /** Registers `release` (sync or async) under `name`, for the error it may raise. */
  add(name: string, release: () => unknown): void {
    if (this.released) throw new Error(`cannot register ${name}: the resources were already released`);
    this.stack.push({ name, release });
  }

  /** Runs every releaser, last first. Idempotent: a second call returns the first one's promise. */
  releaseAll(): Promise<void> {
    this.released ??= (async () => {
      let first: Error | undefined;
      for (const { name, release } of this.stack.splice(0).reverse()) {
        try {
          await release();
        } catch (error) {
          first ??= Object.assign(error instanceof Error ? error : new Error(String(error)), { releaser: name });
        }
      }
      if (first !== undefined) throw first;
    })();
    return this.released;
  }
}

/**
 * Runs `work` with a release stack and releases everything after it, whether it returned or
 * threw. The work's own error wins over a releaser's (it is the cause); a releaser's error is
 * rethrown when the work succeeded.
 */
export async function withReleasers<T>(work: (releasers: Releasers) => Promise<T>): Promise<T> {
  const releasers = new Releasers();
  let result: T;
  try {
    result = await work(releasers);
  } catch (error) {
    await releasers.releaseAll().catch(() => {});
    throw error;
  }
  await releasers.releaseAll();
  return result;
}

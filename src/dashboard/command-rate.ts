/** Commands one container takes from the fleet page in a burst (the bucket's size). */
export const COMMAND_BURST = 10;
/** …and then one every this long (the bucket's refill). */
export const COMMAND_EVERY_MS = 1000;

/**
 * The fleet page's rate per container, a token bucket per host in this dashboard process:
 * COMMAND_BURST at once, then one a second. Past it the endpoint answers 429 with Retry-After
 * instead of queueing work the supervisor would only collapse or drop. Hosts are the live ones
 * (checked before), so the map stays as small as the fleet; a full bucket is forgotten.
 */
export class CommandRate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** Takes one command's token: 0 when allowed, else the seconds to wait. */
  take(host: string, now = performance.now()): number {
    const bucket = this.buckets.get(host) ?? { tokens: COMMAND_BURST, at: now };
    bucket.tokens = Math.min(COMMAND_BURST, bucket.tokens + (now - bucket.at) / COMMAND_EVERY_MS);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(host, bucket);
      return Math.max(1, Math.ceil(((1 - bucket.tokens) * COMMAND_EVERY_MS) / 1000));
    }
    bucket.tokens -= 1;
    this.buckets.set(host, bucket);
    this.forgetFull(now);
    return 0;
  }

  private forgetFull(now: number): void {
    if (this.buckets.size < 64) return;
    for (const [host, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) / COMMAND_EVERY_MS >= COMMAND_BURST) this.buckets.delete(host);
    }
  }
}

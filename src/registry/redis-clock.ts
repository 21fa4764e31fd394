import type { RedisClient as Redis } from '../redis.js';

/** How often the offset is measured again (a clock stepped by NTP is followed within this). */
export const RESYNC_MS = 5000;
/**
 * An offset this old is measured again with a TIME of its own. A little over RESYNC_MS: the
 * supervisor's container heartbeat reads Redis's time every heartbeat (5 s by default) and
 * hands it over (observe), so the clock costs no command of its own at the default.
 */
export const CLOCK_STALE_MS = RESYNC_MS + 1000;
/** A sample whose round trip took longer is too blurred to move the offset (unless it is the first). */
const MAX_SAMPLE_RTT_MS = 250;
/** Off Redis's clock by more than this: said in the logs and in /health. */
export const CLOCK_SKEW_WARN_MS = 1000;

/**
 * Redis's clock as seen from this process. Every age bouy judges — a heartbeat's, a presence's,
 * a registration's at start-up — is measured on this one clock, never on the writer's and the
 * reader's own: a supervisor whose clock ran 30 s ahead saw live peers as dead and ran their
 * jobs twice at once. The offset comes from Redis `TIME`, measured again every few
 * seconds on the connection's idle path (one command per RESYNC_MS, whatever the reads).
 */
export class RedisClock {
  private offset = 0;
  private syncedAt = Number.NEGATIVE_INFINITY;
  private syncing: Promise<void> | undefined;
  private warned = false;
  /** When Redis last answered a TIME (this process's clock): how long Redis has been out of reach. */
  private answeredAt = Date.now();

  /** `onSkew` is told when the offset crosses CLOCK_SKEW_WARN_MS (and when it comes back). */
  constructor(private readonly redis: Redis, private readonly onSkew?: (offsetMs: number, skewed: boolean) => void) {}

  /** Redis's time now in ms, measuring the offset first when it is older than RESYNC_MS. */
  async now(): Promise<number> {
    if (this.stale()) await this.sync();
    return Date.now() + this.offset;
  }

  /** Redis's clock minus ours, in ms (negative: ours runs ahead). 0 until first measured. */
  get offsetMs(): number {
    return this.offset;
  }

  /** How long Redis has not answered this clock (0 right after an answer). */
  unansweredMs(now = Date.now()): number {
    return Math.max(0, now - this.answeredAt);
  }

  private stale(now = Date.now()): boolean {
    return now - this.syncedAt > CLOCK_STALE_MS || now < this.syncedAt;
  }

  /**
   * Keeps the offset fresh whether or not anything asks the time (liveness needs it): a TIME
   * only when no other read of Redis's time (observe) came within CLOCK_STALE_MS.
   */
  keepSynced(): { stop(): void } {
    const timer = setInterval(() => { if (this.stale()) void this.sync().catch(() => {}); }, 1000);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  /** /health's view: how far this process's clock is off Redis's, and a warning past a second. */
  view(): { offset_ms: number; warning: string | null } {
    return { offset_ms: Math.round(this.offset), warning: skewWarning(this.offset) };
  }

  /** Measures the offset now (one TIME); concurrent callers share the one measurement. */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        const before = Date.now();
        const [seconds, micros] = await this.redis.time();
        this.observe(Number(seconds) * 1000 + Number(micros) / 1000, before, Date.now());
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  /** Redis's time `redisMs`, read by a command sent at `before` and answered at `after` (this process's clock). */
  observe(redisMs: number, before: number, after: number): void {
    this.answeredAt = after;
    if (after - before > MAX_SAMPLE_RTT_MS && Number.isFinite(this.syncedAt)) {
      // Too blurred: keep the last offset; when that is due, try again in a second.
      if (this.stale(after)) this.syncedAt = after - CLOCK_STALE_MS + 1000;
      return;
    }
    this.offset = redisMs - (before + after) / 2;
    this.syncedAt = after;
    const skewed = Math.abs(this.offset) > CLOCK_SKEW_WARN_MS;
    if (skewed !== this.warned) {
      this.warned = skewed;
      this.onSkew?.(this.offset, skewed);
    }
  }
}

/** "this host's clock is 30.0 s ahead of Redis's" past CLOCK_SKEW_WARN_MS; null within it. */
export function skewWarning(offsetMs: number): string | null {
  if (Math.abs(offsetMs) <= CLOCK_SKEW_WARN_MS) return null;
  return `this host's clock is ${(Math.abs(offsetMs) / 1000).toFixed(1)} s ${offsetMs < 0 ? 'ahead of' : 'behind'} Redis's; bouy judges every heartbeat on Redis's clock, but fix NTP on this host`;
}

/**
 * Whether this supervisor's own writes have gone through promptly for long enough that a peer's
 * silence means something. Heartbeats stop for everyone while Redis refuses or holds writes
 * (restarting, a Sentinel failover, min-replicas), so after an outage peers are judged only
 * once our writes have gone through promptly for a stale period again. Fed by every write the
 * supervisor makes anyway (its container heartbeat, the sweep's token): no write of its own.
 */
export class WriteWatch {
  /** Since when our writes have gone through promptly; undefined while they fail. Not our start: only an outage seen. */
  private since: number | undefined = Number.NEGATIVE_INFINITY;

  constructor(private readonly staleAfterMs: number, private readonly heartbeatMs: number) {}

  /**
   * A write (or the reads after it) sent at `sentAt` was held so long that a live peer's writes,
   * held as long, could have let its heartbeat expire: a peer beats every heartbeat and is stale
   * after staleAfterMs, so only a hold longer than staleAfterMs − heartbeat can fake a death. A
   * shorter bar (one heartbeat) was crossed by plain CPU load on a busy 2-core machine, kept
   * resetting the clock, and left dead peers' jobs to BullMQ's stall check (chaos: 10 stranded).
   */
  heldUp(sentAt: number): boolean {
    return Date.now() - sentAt > this.staleAfterMs - this.heartbeatMs;
  }

  /** A write sent at `sentAt` went through: a slow one is an outage we lived through. */
  wrote(sentAt: number): void {
    if (this.since === undefined || this.heldUp(sentAt)) this.since = Date.now();
  }

  /** A write failed: an outage still going on. */
  failed(): void {
    this.since = undefined;
  }

  /** Something read since `sentAt` may be an outage's silence: judge nothing for a stale period. */
  restart(): void {
    this.since = Date.now();
  }

  /** Our writes have gone through promptly for a stale period: a peer's silence is its own. */
  mayJudge(now = Date.now()): boolean {
    return this.since !== undefined && now - this.since >= this.staleAfterMs;
  }
}

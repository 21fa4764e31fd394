import type { JobEvent } from '../ipc.js';

/**
 * Job starts and finishes on their way to the supervisor, sent in batches: one IPC message per
 * job start and one per finish cost a no-op job a third of its throughput. A batch goes out
 * when it is full or `flushMs` after its first event, so counters in /health lag by at most
 * that; `flush()` sends what is left before the worker reports anything that depends on it.
 */
export class JobEventBatch {
  private events: JobEvent[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly send: (events: JobEvent[]) => Promise<void>, private readonly maxEvents = 256, private readonly flushMs = 20) {}

  add(event: JobEvent): void {
    this.events.push(event);
    if (this.events.length >= this.maxEvents) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /** Sends what is waiting; resolves once the message left (so an exit right after keeps it). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.events.length === 0) return Promise.resolve();
    const events = this.events;
    this.events = [];
    return this.send(events);
  }
}

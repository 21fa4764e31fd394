import type { Logger } from '../log.js';
import type { WorkerMessage } from '../ipc.js';

/** One line per distinct error at most this often; the repeats in between are counted. */
export const ERROR_LOG_EVERY_MS = 5000;
/**
 * A queue's BullMQ worker is back to normal after this long without an error. Longer than
 * BullMQ's drainDelay (5 s), the slowest its fetch loop fails, so a loop failing once per fetch
 * never looks recovered between two failures.
 */
export const ERROR_QUIET_MS = 10_000;
/** Errors within ERROR_QUIET_MS before the worker reports itself failing: one is an incident, two a loop. */
export const ERRORS_TO_REPORT = 2;

interface QueueErrors {
  count: number;
  last: number;
  error: string;
  /** The count last sent to the supervisor (undefined: not reported as failing yet). */
  reported: number | undefined;
  /** Per distinct message: when it was last logged and how often it came since. */
  lines: Map<string, { loggedAt: number; suppressed: number }>;
}

/**
 * The errors a worker process's BullMQ Workers emit. A Worker whose fetch fails (a key of the
 * wrong type, a broken script, Redis refusing writes) emits 'error' in a loop — up to thousands
 * a second — and keeps going, so the process looks alive while it consumes nothing. This logs
 * each distinct error at most once every ERROR_LOG_EVERY_MS with the count of repeats, and
 * tells the supervisor (`erroring` / `recovered`, at most one message per `tick`, not one per
 * error) so /health and /readyz can say so.
 */
export class ErrorWatch {
  private readonly queues = new Map<string, QueueErrors>();

  constructor(private readonly log: Logger, private readonly send: (message: WorkerMessage) => void) {}

  record(queue: string, error: unknown, now = Date.now()): void {
    const message = error instanceof Error ? error.message : String(error);
    let state = this.queues.get(queue);
    if (!state) {
      state = { count: 0, last: now, error: message, reported: undefined, lines: new Map() };
      this.queues.set(queue, state);
    }
    state.count += 1;
    state.last = now;
    state.error = message;
    const key = message.slice(0, 300);
    const line = state.lines.get(key);
    if (!line || now - line.loggedAt >= ERROR_LOG_EVERY_MS) {
      this.log.error({ err: error, queue, repeated: line?.suppressed ?? 0, errors: state.count }, 'worker error');
      state.lines.set(key, { loggedAt: now, suppressed: 0 });
    } else {
      line.suppressed += 1;
    }
    // The transition is reported at once; later counts wait for the next tick.
    if (state.reported === undefined && state.count >= ERRORS_TO_REPORT) this.report(queue, state);
  }

  /** Called every second: reports new counts, and recovery once a queue has been quiet. */
  tick(now = Date.now()): void {
    for (const [queue, state] of this.queues) {
      if (now - state.last >= ERROR_QUIET_MS) {
        this.queues.delete(queue);
        if (state.reported !== undefined) {
          const suppressed = [...state.lines.values()].reduce((sum, l) => sum + l.suppressed, 0);
          this.log.info({ queue, errors: state.count, repeated: suppressed, quiet_s: ERROR_QUIET_MS / 1000 }, 'worker recovered');
          this.send({ type: 'recovered', queue });
        }
      } else if (state.reported !== undefined && state.reported !== state.count) {
        this.report(queue, state);
      }
    }
  }

  private report(queue: string, state: QueueErrors): void {
    state.reported = state.count;
    this.send({ type: 'erroring', queue, error: state.error.slice(0, 500), count: state.count });
  }
}

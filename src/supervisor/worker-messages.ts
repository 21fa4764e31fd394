import type { EventEmitter } from 'node:events';
import { startFailure } from '../errors.js';
import type { WorkerMessage } from '../ipc.js';
import type { Logger } from '../log.js';
import type { JobStatsByName } from './job-stats.js';
import type { PoolOperations } from './operations.js';
import type { SupervisorEvents } from './pool.js';
import { applyReport, type Slot } from './slot.js';
import {
  beatReceived, becameReady, checked, deadlineMet, deadlineSet, draining, heard, queueFailing, queueRecovered,
} from './slot-lifecycle.js';
import type { WorkerOutput } from './worker-output.js';

/** What the supervisor's answers to its workers need of it. */
export interface MessageHost {
  log: Logger;
  jobStats: JobStatsByName;
  output: WorkerOutput;
  operations: PoolOperations;
  events: Pick<EventEmitter<SupervisorEvents>, 'emit'>;
}

/**
 * What the supervisor does with each message a worker sends over IPC (ipc.ts WorkerMessage):
 * the slot's fields change through slot-lifecycle.ts, the rest is told to its observers.
 */
export class WorkerMessages {
  /** Some worker has been ready since start: from then on a start-up failure is a crash. */
  private everReady = false;

  constructor(private readonly host: MessageHost) {}

  handle(slot: Slot, message: WorkerMessage): void {
    heard(slot);
    switch (message.type) {
      case 'ready':
        becameReady(slot, this.host.operations.isQuiet, message.settings);
        this.everReady = true;
        this.host.output.ready(slot, message.lines);
        break;
      case 'init-failed':
        this.host.log.error({ worker: slot.name, error: message.error }, 'worker failed to start');
        if (!this.everReady) {
          const fatal = startFailure(message);
          if (fatal) this.host.events.emit('fatal', fatal);
        }
        break;
      case 'check':
        checked(slot, message);
        break;
      case 'timed-out':
        deadlineMet(slot, `${message.queue}:${message.jobId}`);
        break;
      case 'report':
        this.host.events.emit('jobs-reported', slot.name, applyReport(slot, this.host.jobStats, message));
        break;
      case 'job-deadline':
        deadlineSet(slot, `${message.queue}:${message.jobId}`, message.timeoutMs);
        break;
      case 'recycle-request':
        this.host.operations.recycleRequested(slot, message.reason, message.jobsDone, message.rssMb);
        break;
      case 'draining':
        if (slot.state !== 'draining' && slot.state !== 'stopped') draining(slot);
        break;
      case 'alive':
        if (beatReceived(slot, message)) this.host.events.emit('beat-changed', slot.name);
        break;
      case 'erroring':
        if (queueFailing(slot, message.queue, message.error, message.count)) {
          this.host.log.warn({ worker: slot.name, queue: message.queue, error: message.error }, `worker fails in a loop on queue ${message.queue}: health reports it`);
        }
        break;
      case 'recovered':
        queueRecovered(slot, message.queue);
        break;
      case 'redis-errors':
        this.host.events.emit('redis-errors', message.counts);
        break;
    }
  }
}

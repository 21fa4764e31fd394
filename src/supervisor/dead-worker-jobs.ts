import type { Logger } from '../log.js';
import { logReclaimed, type Registry } from '../registry/registry.js';
import { within } from '../timeout.js';
import type { Slot } from './slot.js';

export interface ReturnOptions {
  registry: Registry;
  log: Logger;
  /** MAX_JOB_KILLS, when this death counts as a kill for its jobs (undefined: it does not). */
  maxKills: number | undefined;
  /**
   * While stopping, what is left of the shutdown's time (Shutdown.timeLeftMs): Redis gets that
   * and no more, so a Redis that never answers (a black-holed connection) cannot hold the exit.
   */
  timeLeftMs: number | undefined;
}

/**
 * Returns the jobs a dead worker held to their queues at once; poison jobs (past MAX_JOB_KILLS)
 * and the ones the supervisor killed it for (past their timeout) fail instead. What cannot be
 * returned is logged: the jobs' locks expire and BullMQ's stall check returns them.
 */
export async function returnJobsOf(slot: Slot, options: ReturnOptions): Promise<void> {
  const { registry, log, maxKills, timeLeftMs } = options;
  try {
    const reclaiming = registry.reclaim(slot.name, { ...(maxKills !== undefined ? { maxKills } : {}), timedOut: slot.timedOut, forkedBy: process.pid });
    const moved = timeLeftMs !== undefined ? await within(reclaiming.then((jobs) => ({ jobs }), (error: unknown) => ({ error })), timeLeftMs, undefined) : { jobs: await reclaiming };
    if (moved && 'error' in moved) throw moved.error;
    if (moved === undefined) {
      log.error({ worker: slot.name }, 'could not return the dead worker\'s jobs before the shutdown deadline (Redis did not answer); their locks expire and BullMQ\'s stall check returns them');
      return;
    }
    logReclaimed(log, { worker: slot.name }, moved.jobs, 'of the dead worker');
  } catch (error) {
    log.error({ worker: slot.name, err: error }, 'could not return the dead worker\'s jobs; BullMQ stall detection will');
  }
}

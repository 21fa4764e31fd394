/**
 * WORKER_COUNT=MIN-MAX: how many workers a supervisor should run, decided from what it can
 * see — its slots and the backlog. A pure function: the autoscaler (autoscaler.ts) gathers the
 * observation, this decides, so every rule is tested without processes or clocks.
 *
 * Grow while every slot is busy AND jobs wait: busy slots alone may be a queue the fleet
 * cannot take faster (QUEUE_GLOBAL_CONCURRENCY, a rate limit), waiting jobs alone are a fetch
 * in flight. Enough workers are added at once for the backlog (Celery's autoscaler does the
 * same), and none while one is still starting (it is capacity the backlog does not see yet).
 * Shrink one worker at a time, and only after a whole worker's worth of slots stood idle for
 * the quiet window: a lull between two bursts costs no restart.
 */

export interface ScaleBounds {
  readonly min: number;
  readonly max: number;
}

export interface ScaleSettings extends ScaleBounds {
  /** Jobs one worker runs at once. */
  readonly concurrency: number;
  /** Spare capacity of a whole worker this long drains one away. */
  readonly quietWindowMs: number;
}

/** What the container's memory allows: measured, never configured. */
export interface MemoryRoom {
  /** The cgroup's limit. */
  readonly limitBytes: number;
  /** What the container uses now (the cgroup's own count, else supervisor + workers). */
  readonly usedBytes: number;
  /** One worker's measured size (the mean of the running ones). */
  readonly workerBytes: number;
}

/** Part of the limit never planned for: the page cache, a worker's growth under load. */
export const MEMORY_RESERVE = 0.1;

export interface ScaleObservation {
  readonly now: number;
  /** Workers that stay (starting, ready or busy; not those being drained away). */
  readonly workers: number;
  /** Of those, still starting: capacity that takes no job yet, and soon will. */
  readonly starting: number;
  /** Of those, ready to take jobs (the rest restart, or loop on a crash). */
  readonly ready: number;
  /** Jobs running in the ready workers. */
  readonly busy: number;
  /**
   * Jobs in this supervisor's queues that could start now (none of a paused queue, within
   * QUEUE_GLOBAL_CONCURRENCY and QUEUE_RATE_LIMIT); undefined when not read (slots were free).
   */
  readonly waiting: number | undefined;
  readonly memory: MemoryRoom | undefined;
  /** Quiet or shutting down: the pool's size is no longer the autoscaler's to change. */
  readonly frozen: boolean;
}

/** Carried from one decision to the next. */
export interface ScaleState {
  /** Since when a whole worker's slots have been idle (undefined: they have not). */
  readonly spareSince: number | undefined;
}

export interface ScaleDecision {
  /** The number of workers to run; equal to `workers` when nothing changes. */
  readonly target: number;
  /** Why: in the fleet event and the log for a change, in /health for a hold. */
  readonly reason: string;
  readonly state: ScaleState;
}

export const INITIAL_SCALE_STATE: ScaleState = { spareSince: undefined };

/** Ready slots are all busy: the only time the backlog is worth a Redis read. */
export function slotsFull(observation: Pick<ScaleObservation, 'ready' | 'busy'>, concurrency: number): boolean {
  return observation.ready > 0 && observation.busy >= observation.ready * concurrency;
}

/** Workers the memory limit still has room for, at the workers' measured size. */
export function memoryRoomFor(memory: MemoryRoom | undefined): number {
  if (!memory || memory.workerBytes <= 0) return Number.POSITIVE_INFINITY;
  const usable = memory.limitBytes * (1 - MEMORY_RESERVE) - memory.usedBytes;
  return Math.max(0, Math.floor(usable / memory.workerBytes));
}

export function decideScale(settings: ScaleSettings, state: ScaleState, observation: ScaleObservation): ScaleDecision {
  const { now, workers, starting, busy, waiting } = observation;
  const { min, max, concurrency } = settings;
  const hold = (reason: string, spareSince: number | undefined = undefined): ScaleDecision => ({ target: workers, reason, state: { spareSince } });
  if (observation.frozen) return hold('quiet or shutting down: the pool is not resized');
  // An operator's resize (TTIN/TTOU, the fleet page) outside the range is brought back.
  if (workers < min) return { target: min, reason: `below the minimum of ${min}`, state: { spareSince: undefined } };
  if (workers > max) return { target: max, reason: `above the maximum of ${max}`, state: { spareSince: undefined } };
  if (starting > 0) return hold(`${starting} worker(s) still starting`);

  const capacity = observation.ready * concurrency;
  if (slotsFull(observation, concurrency) && waiting !== undefined && waiting > 0) {
    if (workers >= max) return hold(`all ${capacity} slots busy and ${waiting} job(s) waiting, at the maximum of ${max}`);
    const wanted = Math.min(max, workers + Math.ceil(waiting / concurrency));
    const room = memoryRoomFor(observation.memory);
    const target = Math.min(wanted, workers + room);
    if (target <= workers) {
      const mib = (bytes: number) => Math.round(bytes / 1048576);
      const m = observation.memory!;
      return hold(`all ${capacity} slots busy and ${waiting} job(s) waiting, but the memory limit (${mib(m.limitBytes)} MiB, ${mib(m.usedBytes)} used) has no room for another ${mib(m.workerBytes)} MiB worker`);
    }
    const capped = target < wanted ? ` (memory limit: room for ${room} more)` : '';
    return { target, reason: `all ${capacity} slots busy and ${waiting} job(s) waiting: +${target - workers} worker(s)${capped}`, state: { spareSince: undefined } };
  }

  const spare = capacity - busy >= concurrency && workers > min && observation.ready === workers;
  if (!spare) return hold(workers > min ? `${busy} of ${capacity} slots busy` : `at the minimum of ${min}`);
  const since = state.spareSince ?? now;
  const quietMs = now - since;
  if (quietMs < settings.quietWindowMs) return hold(`${busy} of ${capacity} slots busy for ${Math.round(quietMs / 100) / 10}s of the ${settings.quietWindowMs / 1000}s quiet window`, since);
  return {
    target: workers - 1,
    reason: `${busy} of ${capacity} slots busy for ${Math.round(quietMs / 100) / 10}s (quiet window ${settings.quietWindowMs / 1000}s): -1 worker`,
    // The next worker goes only after another whole window.
    state: { spareSince: now },
  };
}

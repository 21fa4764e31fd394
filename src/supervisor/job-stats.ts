import { clip } from '../jobs/job-names.js';

/**
 * Counters of one kind of job (or one worker): what started, how it ended, how long it took.
 * A run ends completed, failed or moved (the job went back to delayed, wait or waiting-children
 * and runs again later: BullMQ's step jobs, flows, a 429), so active = started − the three.
 */
export interface JobCounters {
  started: number;
  completed: number;
  failed: number;
  moved: number;
  active: number;
  total_ms: number;
  max_ms: number;
}

export function emptyCounters(): JobCounters {
  return { started: 0, completed: 0, failed: 0, moved: 0, active: 0, total_ms: 0, max_ms: 0 };
}

/** What a worker's report adds to a set of counters (see JobTally). */
export interface TallyCounts { started: number; completed: number; failed: number; moved: number; totalMs: number; maxMs: number }

export function addTally(counters: JobCounters, tally: TallyCounts): void {
  counters.started += tally.started;
  counters.completed += tally.completed;
  counters.failed += tally.failed;
  counters.moved += tally.moved;
  counters.active = Math.max(0, counters.active + tally.started - tally.completed - tally.failed - tally.moved);
  counters.total_ms += tally.totalMs;
  counters.max_ms = Math.max(counters.max_ms, tally.maxMs);
}

/** The view /health gives: counters plus the mean duration, rounded for reading. */
export function viewCounters(counters: JobCounters): JobCounters & { mean_ms: number } {
  const finished = counters.completed + counters.failed;
  return {
    ...counters,
    total_ms: Math.round(counters.total_ms),
    max_ms: Math.round(counters.max_ms),
    mean_ms: finished ? Math.round((counters.total_ms / finished) * 10) / 10 : 0,
  };
}

/** Where the job names past the limit are counted. */
export const OTHER_JOB_NAMES = 'other';

/**
 * Counters per job name, across every worker of this supervisor: which kind of job is slow or
 * failing, in /health and /metrics.
 * Job names are chosen by whoever enqueues, so they are bounded: the first `limit` names seen
 * get their own counters (and metric labels), every later one is counted as `other`. 3,000
 * distinct names otherwise grew /metrics to 12.7 MB and the supervisor to 210 MB.
 */
export class JobStatsByName {
  private readonly byName = new Map<string, JobCounters>();

  constructor(private readonly limit = 50) {}

  /** The name a job is counted (and labelled in /metrics) under: its own (clipped as everywhere), or `other`. */
  label(given: string): string {
    const name = clip(given);
    if (this.byName.has(name)) return name;
    const named = this.byName.size - (this.byName.has(OTHER_JOB_NAMES) ? 1 : 0);
    return named < this.limit ? name : OTHER_JOB_NAMES;
  }

  private of(name: string): JobCounters {
    const key = this.label(name);
    let counters = this.byName.get(key);
    if (!counters) {
      counters = emptyCounters();
      this.byName.set(key, counters);
    }
    return counters;
  }

  /** A worker's tally of jobs of this name since its last report. */
  add(tally: TallyCounts & { name: string }): void {
    addTally(this.of(tally.name), tally);
  }

  /** A worker died with jobs running: they are no longer active here (they went back to the queue). */
  abandoned(names: readonly string[]): void {
    for (const name of names) {
      const counters = this.of(name);
      counters.active = Math.max(0, counters.active - 1);
    }
  }

  view(): Record<string, ReturnType<typeof viewCounters>> {
    return Object.fromEntries([...this.byName].map(([name, counters]) => [name, viewCounters(counters)]));
  }
}

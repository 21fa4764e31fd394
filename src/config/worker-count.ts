import { cpuLimitOf, type CgroupFiles } from './cgroup-limits.js';
import type { Env, Problems } from './parse.js';

/** How many worker processes one supervisor runs, and whether that number moves. */
export interface WorkerScaling {
  /** `fixed`: a number; `auto`: fixed at the CPUs this container may use; `range`: autoscaled MIN-MAX. */
  readonly mode: 'fixed' | 'auto' | 'range';
  /** Workers started with; the fewest autoscaling keeps. */
  readonly min: number;
  /** The most autoscaling starts (equal to min unless mode is `range`). */
  readonly max: number;
  /** Where the number came from (logged at start, shown in /health). */
  readonly source: string;
}

const RANGE = /^(\d{1,2})-(\d{1,2})$/;

/** What WORKER_COUNT may be, for the error message. */
export function workerCountForms(most: number): string {
  return `a whole number from 1 to ${most}, "auto" (the CPUs this container may use), or MIN-MAX to autoscale (1 ≤ MIN ≤ MAX ≤ ${most}, e.g. 2-8)`;
}

/**
 * WORKER_COUNT: `N`, `auto` or `MIN-MAX`. `auto` reads the CPU quota through `cgroup()` only
 * when asked for (each worker process loads the configuration too), rounds a fraction up — a
 * quota of 1.5 CPUs keeps two processes busy, one would leave half a CPU unused — and clamps
 * to 1..most.
 */
export function parseWorkerCount(
  env: Env, problems: Problems, most: number, cgroup: () => CgroupFiles, cores: () => number,
): WorkerScaling {
  const raw = env.WORKER_COUNT;
  const value = raw?.trim().toLowerCase();
  const fixed = (count: number, source: string): WorkerScaling => ({ mode: 'fixed', min: count, max: count, source });
  if (value === undefined) return fixed(1, 'default');
  if (value === 'auto') {
    const limit = cpuLimitOf(cgroup(), cores());
    const count = Math.min(most, Math.max(1, Math.ceil(limit.cpus - 1e-9)));
    const cpus = Math.round(limit.cpus * 100) / 100;
    return { mode: 'auto', min: count, max: count, source: `WORKER_COUNT=auto: ${cpus} CPU(s) from ${limit.source}, rounded up and clamped to 1-${most}` };
  }
  if (/^\d{1,2}$/.test(value)) {
    const count = Number(value);
    if (count >= 1 && count <= most) return fixed(count, 'WORKER_COUNT');
  }
  const range = RANGE.exec(value);
  if (range) {
    const min = Number(range[1]);
    const max = Number(range[2]);
    if (min >= 1 && min <= max && max <= most) {
      return min === max ? fixed(min, 'WORKER_COUNT') : { mode: 'range', min, max, source: `WORKER_COUNT=${min}-${max} (autoscaled)` };
    }
  }
  problems.add('WORKER_COUNT', raw, workerCountForms(most));
  return fixed(1, 'default');
}

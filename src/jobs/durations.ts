/**
 * Upper bounds (seconds) of the job-duration histogram, `bouy_job_duration_seconds`. Workers
 * count their jobs into these buckets themselves and report the counts (see worker/job-report.ts),
 * so the supervisor merges a handful of numbers per interval instead of observing every job.
 */
export const DURATION_BUCKETS_S: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Index of the first bucket a duration fits in; DURATION_BUCKETS_S.length for one past the last (+Inf). */
export function bucketOf(durationMs: number): number {
  const seconds = durationMs / 1000;
  let i = 0;
  while (i < DURATION_BUCKETS_S.length && seconds > DURATION_BUCKETS_S[i]!) i += 1;
  return i;
}

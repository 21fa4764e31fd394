/**
 * When a worker asks to be recycled after its jobs: MAX_JOBS_PER_WORKER plus up to
 * MAX_JOBS_JITTER more, drawn once per worker so a fleet started together does not recycle in step.
 */
export function jobLimit(maxJobs: number, jitter: number, random: () => number = Math.random): number {
  if (maxJobs <= 0) return Infinity;
  return maxJobs + Math.floor(random() * (jitter + 1));
}

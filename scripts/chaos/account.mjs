// The chaos run's verdict, job by job: every id enqueued must end completed, except poison
// jobs, which must end failed. Re-runs are allowed (a job killed mid-run runs again:
// at-least-once) and counted apart from losses.

function countBy(records) {
  const counts = new Map();
  for (const { id } of records) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/**
 * `ids`: every job id enqueued; `states`: id → BullMQ state at the end (ids absent from every
 * set are missing); `started`/`finished`: the processor's own records; `poison`: ids meant to fail.
 */
export function account({ ids, states, started, finished, poison = new Set() }) {
  const starts = countBy(started);
  const finishes = countBy(finished);
  const result = {
    enqueued: ids.length, completed: 0, completedExactlyOnce: 0, rerunThenCompleted: 0, ranToEndMoreThanOnce: 0,
    completedWithoutRecord: 0, poisonFailed: 0, failed: 0, waiting: 0, active: 0, delayed: 0, missing: 0, lost: 0, lostIds: [],
  };
  for (const id of ids) {
    const state = states.get(id) ?? 'missing';
    if (poison.has(id) && state === 'failed') {
      result.poisonFailed += 1;
      continue;
    }
    if (state === 'completed') {
      result.completed += 1;
      const s = starts.get(id) ?? 0;
      const f = finishes.get(id) ?? 0;
      if (f === 0) result.completedWithoutRecord += 1;
      if (s === 1 && f === 1) result.completedExactlyOnce += 1;
      if (s > 1) result.rerunThenCompleted += 1;
      if (f > 1) result.ranToEndMoreThanOnce += 1;
      continue;
    }
    result.lost += 1;
    result.lostIds.push(`${id}(${state})`);
    if (state === 'failed') result.failed += 1;
    else if (state === 'wait' || state === 'waiting' || state === 'prioritized' || state === 'paused') result.waiting += 1;
    else if (state === 'active') result.active += 1;
    else if (state === 'delayed') result.delayed += 1;
    else result.missing += 1;
  }
  return result;
}

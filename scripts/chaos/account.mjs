// The chaos run's verdict, job by job: every id enqueued must end completed, except poison
// jobs, which must end failed. Re-runs are allowed (a job killed mid-run runs again:
// at-least-once) and counted apart from losses.

function countBy(records) {
  const counts = new Map();
  for (const { id } of records) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** The runs of job `id` cut short by a death on record: started on a pid that died, never finished on it. */
function deathsOf(id, started, finished, deaths) {
  const finishedOn = new Set(finished.filter((r) => r.id === id).map((r) => r.pid));
  return started.filter((r) => r.id === id && deaths.has(r.pid) && !finishedOn.has(r.pid)).length;
}

/**
 * `ids`: every job id enqueued; `states`: id → BullMQ state at the end (ids absent from every
 * set are missing); `started`/`finished`: the processor's own records; `poison`: ids meant to fail.
 * `killsOf`: id → the kill count of its `killed its worker N times` failure; `deaths`: pid → when
 * that worker process died. An innocent job failed by MAX_JOB_KILLS is no loss when each kill
 * it was failed for is a death of a worker running it on record (MAX_JOB_KILLS counts deaths,
 * not culprits: one that shared its worker's death with the poison job or with the run's own
 * kills often enough fails as configured); with fewer deaths on record, it was miscounted: lost.
 */
export function account({ ids, states, started, finished, poison = new Set(), killsOf = new Map(), deaths = new Map() }) {
  const starts = countBy(started);
  const finishes = countBy(finished);
  const result = {
    enqueued: ids.length, completed: 0, completedExactlyOnce: 0, rerunThenCompleted: 0, ranToEndMoreThanOnce: 0,
    completedWithoutRecord: 0, poisonFailed: 0, failedByKillLimit: [], failed: 0, waiting: 0, active: 0, delayed: 0, missing: 0, lost: 0, lostIds: [],
  };
  for (const id of ids) {
    const state = states.get(id) ?? 'missing';
    if (poison.has(id) && state === 'failed') {
      result.poisonFailed += 1;
      continue;
    }
    const kills = killsOf.get(id);
    if (state === 'failed' && kills !== undefined) {
      const onRecord = deathsOf(id, started, finished, deaths);
      if (onRecord >= kills) {
        result.failedByKillLimit.push(`${id}(${kills} kills, ${onRecord} deaths on record)`);
        continue;
      }
      result.lostIds.push(`${id}(failed: ${kills} kills, ${onRecord} deaths on record)`);
      result.lost += 1;
      result.failed += 1;
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

/**
 * Jobs that ran twice at the same time: a run finished (on Redis's clock, like every record)
 * after another run of the job on another process had started. A run cut short by a death has
 * no finish and counts only through the run that overlapped it to its end.
 */
export function ranTwiceAtOnce(started, finished) {
  const ids = new Set();
  for (const end of finished) {
    const runStart = started.filter((r) => r.id === end.id && r.pid === end.pid && r.at <= end.at).at(-1);
    if (!runStart) continue;
    if (started.some((r) => r.id === end.id && r.pid !== end.pid && r.at > runStart.at && r.at < end.at)) ids.add(end.id);
  }
  return [...ids];
}

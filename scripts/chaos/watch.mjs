// What the chaos run watches while it runs: jobs stranded (active, locked by no live worker)
// and when worker processes died, to time how long a dead worker's job waited to run again.

/**
 * Every `everyMs`, each active job whose lock belongs to no live worker (a registration with a
 * fresh heartbeat) is noted with when it was first seen so. A job stranded longer than the
 * goal (3 heartbeats + 2 s: a dead peer's jobs are returned by then) counts as stranded.
 */
export function watchStranded(client, { queueName, prefix, heartbeatMs, everyMs = 250 }) {
  const since = new Map(); // `${id}|${token}` → first seen orphaned (ms)
  const spans = []; // { id, ms } of orphan spans that ended
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = Date.now();
      const names = await client.zrangebyscore(`${prefix}:workers`, now - 3 * heartbeatMs, '+inf');
      const read = client.pipeline();
      for (const name of names) read.hgetall(`${prefix}:worker:${name}`);
      const live = new Set();
      for (const [, hash] of (await read.exec()) ?? []) {
        for (const [field, id] of Object.entries(hash ?? {})) if (field === `bull:${queueName}`) live.add(id);
      }
      const active = await client.lrange(`bull:${queueName}:active`, 0, -1);
      const locks = client.pipeline();
      for (const id of active) locks.get(`bull:${queueName}:${id}:lock`);
      const tokens = ((await locks.exec()) ?? []).map(([, token]) => token);
      const orphaned = new Set();
      active.forEach((id, i) => {
        const token = tokens[i] ?? '';
        if (live.has(token.slice(0, token.lastIndexOf(':')))) return;
        const key = `${id}|${token}`;
        orphaned.add(key);
        if (!since.has(key)) since.set(key, now);
      });
      for (const [key, at] of since) {
        if (orphaned.has(key)) continue;
        spans.push({ id: key.split('|')[0], ms: now - at, at, token: key.split('|')[1] });
        since.delete(key);
      }
    } catch {
      // Redis is being killed: look again next time
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  return {
    /** Stops watching; orphan spans still open count up to now. */
    stop(goalMs) {
      clearInterval(timer);
      const now = Date.now();
      const all = [...spans, ...[...since].map(([key, at]) => ({ id: key.split('|')[0], ms: now - at, at, token: key.split('|')[1], open: true }))];
      const longest = all.reduce((max, s) => (s.ms > (max?.ms ?? -1) ? s : max), undefined);
      const over = all.filter((s) => s.ms > goalMs || s.open);
      // When and whose: the span's start (ms, the run's clock) and the lock's owner, for tracing.
      return { stranded: over.map((s) => s.id), strandedSpans: over, longest };
    },
  };
}

/**
 * The longest time from a worker's death to its job's next start: for each job, consecutive
 * starts (a, b) where a's process died between them. `deaths`: pid → when it died (ms).
 */
export function longestWait(started, deaths) {
  const byJob = new Map();
  for (const run of started) (byJob.get(run.id) ?? byJob.set(run.id, []).get(run.id)).push(run);
  let longest;
  for (const [id, runs] of byJob) {
    runs.sort((x, y) => x.at - y.at);
    for (let i = 0; i + 1 < runs.length; i += 1) {
      const died = deaths.get(runs[i].pid);
      if (died === undefined || died < runs[i].at || died > runs[i + 1].at) continue;
      const ms = runs[i + 1].at - died;
      if (!longest || ms > longest.ms) longest = { id, ms };
    }
  }
  return longest;
}

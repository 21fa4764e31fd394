// Restart: SIGKILL a worker, time until /health shows its slot ready again with a new pid.
// RESTART_DELAY_SECONDS=0 is bouy's own overhead (notice, fork, load, connect); the default
// (10 s) is what a deployment gets out of the box. MIN_UPTIME_SECONDS=0 keeps the back-to-back
// kills of the bench from counting as a crash loop.
import { bouyFleet } from '../fleets.mjs';
import { newQueue } from '../jobs.mjs';
import { cell, shift, summarize } from '../stats.mjs';
import { waitFor } from '../wait.mjs';

async function killAndTime(fleet, index) {
  const before = (await fleet.proc.health()).workers[index];
  const t0 = performance.now();
  process.kill(before.pid, 'SIGKILL');
  await waitFor(async () => {
    const slot = (await fleet.proc.health()).workers[index];
    // While the supervisor is still handing back the dead worker's jobs the slot can read
    // 'ready' with no pid: only a ready slot with a new pid is a replacement.
    return slot.state === 'ready' && typeof slot.pid === 'number' && slot.pid !== before.pid;
  }, `${before.name} replaced`, 60_000, 10);
  return performance.now() - t0;
}

export async function run({ redis, reps, log }) {
  const results = {};
  for (const [delay, workers, rounds] of [['0', 2, reps + 2], ['10', reps, 1]]) {
    const queue = newQueue(redis, 'restart');
    const fleet = await bouyFleet({ redis, queue: queue.name, processor: 'noop', count: workers, concurrency: 1,
      env: { RESTART_DELAY_SECONDS: delay, MIN_UPTIME_SECONDS: '0' } });
    const samples = [];
    try {
      await fleet.ready();
      for (let round = 0; round < rounds; round += 1) {
        // With the default delay every slot is killed at once: one 10-second wait, several samples.
        const indexes = delay === '0' ? [round % workers] : Array.from({ length: workers }, (_, i) => i);
        samples.push(...await Promise.all(indexes.map((i) => killAndTime(fleet, i))));
        log(`restart delay=${delay}: ${samples.map((s) => s.toFixed(0)).join(', ')} ms`);
        await fleet.ready();
      }
    } finally {
      await fleet.stop();
      await queue.close();
    }
    results[delay] = summarize(samples);
  }
  return {
    data: results,
    tables: [{
      title: 'Restart: SIGKILL of a worker to its replacement ready (ms)',
      columns: ['RESTART_DELAY_SECONDS', 'kill → replacement ready', 'of which bouy (minus the delay)'],
      rows: ['0', '10'].map((d) => [d === '10' ? '10 (default)' : d, cell(results[d], 'ms'), cell(shift(results[d], -d * 1000), 'ms')]),
    }],
  };
}

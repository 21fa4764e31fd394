#!/usr/bin/env node
// `npm run chaos -- --jobs N --seconds S [--seed X] [--workers W] [--poison P] [--quiet]`: a
// bounded fault run on loopback (see scripts/chaos/run.mjs). Prints the counts, ends with
// `lost: N`, and exits 1 when any job was lost or stranded.
import { argv } from 'zx';
import { chaos } from './chaos/run.mjs';

const options = {
  jobs: Number(argv.jobs ?? 500),
  seconds: Number(argv.seconds ?? 40),
  workers: Number(argv.workers ?? 3),
  seed: argv.seed === undefined ? undefined : Number(argv.seed),
  poison: Number(argv.poison ?? 3),
};
for (const [name, value] of Object.entries(options)) {
  if (value !== undefined && (!Number.isInteger(value) || value < (name === 'poison' ? 0 : 1))) {
    console.error(`chaos: --${name} must be a whole number ≥ 1, got ${argv[name]}`);
    process.exit(64);
  }
}
if (options.seconds > 600 || options.jobs > 100_000 || options.workers > 20) {
  console.error('chaos: bounded run: --seconds ≤ 600, --jobs ≤ 100000, --workers ≤ 20');
  process.exit(64);
}
if (options.seed === undefined) delete options.seed;

const t0 = Date.now();
const log = argv.quiet ? () => {} : (message) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${message}`);
const r = await chaos({ ...options, log });

console.log(`
chaos run: seed ${r.seed}, ${r.jobs} jobs, ${r.seconds} s of faults, ${(r.elapsedMs / 1000).toFixed(1)} s in all
faults: ${r.faults.workerKills} worker SIGKILLs, ${r.faults.supervisorRestarts} supervisor SIGTERM+restarts, ${r.faults.supervisorKillsMidDrain} supervisor SIGKILLs mid-drain, ${r.faults.peerKills} peer containers SIGKILLed for good, ${r.faults.redisRestarts} Redis kills+restarts, ${r.faults.halfOpens} half-open connections (the peer's, black-holed), ${r.faults.skewedPeers} peers on a skewed clock
misbehaving jobs: ${r.exitJobs} exit their worker mid-job, ${r.poisonJobs} poison (hang their worker every run)
supervisor exits nobody asked for: ${r.supervisorUnexpectedExits.length}${r.supervisorUnexpectedExits.map((e) => `\n  - ${e.signal ?? `code ${e.code}`}: ${e.stderr.join(' | ')}`).join('')}
finishing after the faults: ${(r.settleMs / 1000).toFixed(1)} s${r.stallWaitMs ? `, then ${(r.stallWaitMs / 1000).toFixed(1)} s waiting for stall detection` : ''}
enqueued: ${r.enqueued}
completed: ${r.completed}
  exactly once (one start, one finish): ${r.completedExactlyOnce}
  re-run (started more than once), then completed: ${r.rerunThenCompleted}
  ran to the end more than once: ${r.ranToEndMoreThanOnce}
  ran twice at the same time: ${r.ranTwiceAtOnce.length}${r.ranTwiceAtOnce.length ? ` (${r.ranTwiceAtOnce.slice(0, 10).join(', ')})` : ''}
  completed without a recorded run: ${r.completedWithoutRecord}
processor runs in all: ${r.runs}
returned by BullMQ stall detection (not handed back by bouy): ${r.stalled.length}${r.stalled.map((j) => `\n  - ${j.id}, started at ${j.startedAtSeconds.join(', ') || '(never before)'} s`).join('')}
poison jobs failed as designed: ${r.poisonFailed}/${r.poisonJobs}
innocent jobs failed by MAX_JOB_KILLS, each kill a death of their worker on record: ${r.failedByKillLimit.length}${r.failedByKillLimit.length ? ` (${r.failedByKillLimit.join(', ')})` : ''}
stranded (active, no live worker, over ${r.strandedGoalMs / 1000} s): ${r.strandedIds.length}${r.strandedSpans.slice(0, 10).map((s) => `\n  - ${s.id}: ${s.seconds} s from ${s.fromSeconds} s, lock ${s.token || '(none)'}${s.open ? ' (still)' : ''}`).join('')}
longest a job stayed active with no live worker: ${r.longestOrphaned ? `${(r.longestOrphaned.ms / 1000).toFixed(1)} s (${r.longestOrphaned.id})` : 'none seen'}
longest a killed worker's job waited to run again: ${r.longestWait ? `${(r.longestWait.ms / 1000).toFixed(1)} s (${r.longestWait.id})` : 'none'}
not completed: failed ${r.failed}, waiting ${r.waiting}, active ${r.active}, delayed ${r.delayed}, missing ${r.missing}${Object.keys(r.failedReasons).length ? `\nfailed reasons: ${JSON.stringify(r.failedReasons)}` : ''}${r.lost ? `\nlost ids: ${r.lostIds.slice(0, 20).join(', ')}${r.lostIds.length > 20 ? ' …' : ''}` : ''}
lost: ${r.lost}`);
process.exit(r.lost > 0 || r.strandedIds.length > 0 || r.ranTwiceAtOnce.length > 0 ? 1 : 0);

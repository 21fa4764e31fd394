import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, started } from './helpers/processes.js';

/**
 * The chaos script end to end with small numbers: real redis-server (AOF, killed and started
 * again), a real supervisor (SIGTERMed and started again, SIGKILLed mid-drain), a peer whose
 * whole process group is SIGKILLed and never restarted, real workers (SIGKILLed, exiting
 * mid-job, hung by poison jobs). It must account for every job — poison jobs failed, all
 * others completed, none left to BullMQ's stall detection — and say so in its last line.
 */
// The faults are drawn from a seed: a failing run says its seed, and CHAOS_SEED=<seed> npx
// vitest run test/chaos.test.ts replays the same sequence of faults.
const SEED = process.env.CHAOS_SEED ?? String(Date.now() % 100_000);
const FAULT_SECONDS = 15;
// Bounded by design: the script's phases are each bounded (scripts/chaos/run.mjs) — start-up,
// the faults, up to 15 s to finish the queue, up to 75 s for BullMQ stall detection, up to
// 60 s to stop the fleet — so the timeout is their sum, and reaching it means a hang.
const BUDGET_MS = (20 + FAULT_SECONDS + 15 + 75 + 60) * 1000;

it('loses and strands no job while workers, supervisors and Redis are killed, and fails only the poison jobs', async () => {
  console.log(`chaos seed ${SEED} (re-run: CHAOS_SEED=${SEED} npx vitest run --project unit test/chaos.test.ts)`);
  const proc = spawn(process.execPath, [path.join(ROOT, 'scripts', 'chaos.mjs'), '--jobs', '150', '--seconds', String(FAULT_SECONDS), '--workers', '2', '--poison', '2', '--seed', SEED, '--quiet'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(proc);
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  // 'close', not 'exit': the script's last line (lost: N) may still be on its way at 'exit'.
  const code = await new Promise<number | null>((resolve) => proc.on('close', (c) => resolve(c)));

  const lines = out.trim().split('\n');
  out = `seed ${SEED} (CHAOS_SEED=${SEED} replays it)\n${out}`;
  expect(out).toContain(`chaos run: seed ${SEED},`);
  const number = (label: string) => Number(new RegExp(`^${label}: (\\d+)$`, 'm').exec(out)?.[1]);
  expect(lines.at(-1), out).toBe('lost: 0');
  // The script exits 1 on a loss or on a job stranded past the 3 × heartbeat + 2 s goal; the
  // goal itself is asserted where the timing is controlled (stranded.test.ts "the fleet returns
  // the jobs of a dead container…") and reported here, not bet on under random faults on a busy
  // machine (5.1-5.9 s seen at a load of 12). What this run must show is that bouy hands every
  // job back itself, promptly: none left to BullMQ's stall detection, none orphaned twice the goal.
  // (CHAOS_SEED=25951 once left 2 to stall detection: a supervisor SIGKILLed mid-drain and
  // started at once lost its orphan's registration to its new worker; stranded.test.ts covers it.)
  expect([0, 1], out).toContain(code);
  expect(number('returned by BullMQ stall detection \\(not handed back by bouy\\)'), out).toBe(0);
  const orphaned = /^longest a job stayed active with no live worker: (?:([\d.]+) s|none seen)/m.exec(out);
  expect(orphaned, out).not.toBeNull();
  expect(Number(orphaned![1] ?? 0), out).toBeLessThanOrEqual(10);
  expect(number('enqueued'), out).toBe(150);
  // MAX_JOB_KILLS counts deaths, not culprits: an innocent job that shared its worker's death
  // with a poison job or with the run's own kills more than twice fails as configured. The
  // script counts it apart only when each of its kills is a death on record of a worker that
  // was running it (else it is lost); a few at most in a run this violent (seen: 1 in 150).
  const byKillLimit = Number(/^innocent jobs failed by MAX_JOB_KILLS, each kill a death of their worker on record: (\d+)/m.exec(out)?.[1]);
  expect(byKillLimit, out).toBeLessThanOrEqual(3);
  expect(number('completed') + byKillLimit, out).toBe(148);
  expect(out).toMatch(/^poison jobs failed as designed: 2\/2$/m);
  expect(out).toMatch(/^stranded \(active, no live worker, over 5 s\): \d+/m); // reported for BENCHMARKS.md; bounded above
  // The run really was chaotic: every kind of fault happened at least once.
  const faults = /faults: (\d+) worker SIGKILLs, (\d+) supervisor SIGTERM\+restarts, (\d+) supervisor SIGKILLs mid-drain, (\d+) peer containers SIGKILLed for good, (\d+) Redis kills\+restarts/.exec(out);
  expect(faults, out).not.toBeNull();
  expect(faults!.slice(1).map(Number).every((n) => n > 0), out).toBe(true);
  expect(out).toMatch(/^misbehaving jobs: [1-9]\d* exit their worker mid-job, 2 poison/m);
}, BUDGET_MS);

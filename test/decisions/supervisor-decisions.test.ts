import { describe, expect, it } from 'vitest';
import { decideRecycle } from '../../src/supervisor/recycle-policy.js';
import { restartPolicyOf, decideRestart } from '../../src/supervisor/restart-policy.js';
import { bannerLines, logBanner, verifyWorkers } from '../../src/supervisor/verification.js';
import { addTally, emptyCounters, JobStatsByName, viewCounters, type TallyCounts } from '../../src/supervisor/job-stats.js';
import { OTHER_JOB_NAMES } from '../../src/jobs/job-names.js';
import type { Logger } from '../../src/log.js';

describe('recycle policy', () => {
  it('refuses a memory recycle of a worker that ran no job (it would loop), saying why', () => {
    expect(decideRecycle('max-memory', 0, 140, 128)).toEqual({
      recycle: false, why: 'a fresh worker already uses 140 MiB, over MAX_MEMORY_MB=128: recycling would loop; raise MAX_MEMORY_MB',
    });
  });

  it('recycles otherwise', () => {
    expect(decideRecycle('max-memory', 1, 140, 128)).toEqual({ recycle: true });
    expect(decideRecycle('max-jobs', 0, 140, 128)).toEqual({ recycle: true });
    expect(decideRecycle('manual', 0, 10, 0)).toEqual({ recycle: true });
  });
});

describe('restart policy from the configuration', () => {
  it('converts every setting to ms, CRASH_LOOP_MAX_DELAY_SECONDS included', () => {
    const policy = restartPolicyOf({ restartDelaySeconds: 0.5, minUptimeSeconds: 2, crashLoopThreshold: 4, crashLoopMaxDelaySeconds: 7 });
    expect(policy).toEqual({ restartDelayMs: 500, minUptimeMs: 2000, crashLoopThreshold: 4, crashLoopMaxDelayMs: 7000 });
    expect(decideRestart(policy, 0, 20).delayMs).toBe(7000);
  });

  it('a worker that lived exactly MIN_UPTIME is not a quick death; the threshold-th quick death starts the loop', () => {
    const policy = { restartDelayMs: 1000, minUptimeMs: 5000, crashLoopThreshold: 2, crashLoopMaxDelayMs: 60_000 };
    expect(decideRestart(policy, 5000, 1)).toEqual({ delayMs: 1000, crashLoop: false, quickDeaths: 0 });
    expect(decideRestart(policy, 4999, 1)).toEqual({ delayMs: 2000, crashLoop: true, quickDeaths: 2 });
    // A cap below the base delay never makes the delay shorter than the base.
    expect(decideRestart({ ...policy, restartDelayMs: 5000, crashLoopMaxDelayMs: 1000 }, 0, 5).delayMs).toBe(5000);
  });
});

describe('start-up verification', () => {
  const report = (name: string, settings: Record<string, unknown>) => ({ name, settings });

  it('identical workers: the shared settings, sorted by name', () => {
    const result = verifyWorkers([report('w1', { b: 2, a: 'x' }), report('w2', { a: 'x', b: 2 })]);
    expect(result).toEqual({ identical: true, shared: { a: 'x', b: 2 }, mismatches: [] });
    expect(Object.keys(result.shared)).toEqual(['a', 'b']);
  });

  it('the majority value is expected; each worker that differs is listed with expected and got', () => {
    const result = verifyWorkers([report('w1', { c: 1, v: '1' }), report('w2', { c: 2, v: '1' }), report('w3', { c: 2, v: '2' })]);
    expect(result.identical).toBe(false);
    expect(result.shared).toEqual({ c: 2, v: '1' });
    expect(result.mismatches).toEqual([
      { worker: 'w1', setting: 'c', expected: 2, got: 1 },
      { worker: 'w3', setting: 'v', expected: '1', got: '2' },
    ]);
  });

  it('a tie goes to the first worker; a missing setting differs from a present one; objects compare by value', () => {
    expect(verifyWorkers([report('w1', { c: 1 }), report('w2', { c: 2 })]).mismatches).toEqual([{ worker: 'w2', setting: 'c', expected: 1, got: 2 }]);
    expect(verifyWorkers([report('w1', { c: 1 }), report('w2', {}), report('w3', { c: 1 })]).mismatches).toEqual([{ worker: 'w2', setting: 'c', expected: 1, got: undefined }]);
    expect(verifyWorkers([report('w1', { o: { a: 1 } }), report('w2', { o: { a: 1 } })]).identical).toBe(true);
    expect(verifyWorkers([])).toEqual({ identical: true, shared: {}, mismatches: [] });
  });

  const rule = '='.repeat(70);
  it('the banner of identical workers lists the shared configuration', () => {
    expect(bannerLines(2, verifyWorkers([report('w1', { a: 'x', n: 1 }), report('w2', { a: 'x', n: 1 })]))).toEqual([
      rule, 'WORKER VERIFICATION: 2 workers ready', rule, '2 workers ready, all configured identically', 'Shared configuration:', '   a: "x"', '   n: 1', rule,
    ]);
  });

  it('the banner of a mismatch counts the workers that differ and lists each difference', () => {
    const verification = verifyWorkers([report('w1', { a: 1, b: 1 }), report('w2', { a: 1, b: 1 }), report('w3', { a: 2, b: 2 })]);
    expect(bannerLines(3, verification)).toEqual([
      rule, 'WORKER VERIFICATION: 3 workers ready', rule, 'configuration mismatch in 1 worker(s):',
      '   w3: a expected 1 got 2', '   w3: b expected 1 got 2', rule,
    ]);
  });

  it('logs the banner at info when identical, at warn when not, with the counts as fields', () => {
    const calls: [string, unknown, string][] = [];
    const log = { info: (f: unknown, m: string) => calls.push(['info', f, m]), warn: (f: unknown, m: string) => calls.push(['warn', f, m]) } as unknown as Logger;
    const same = verifyWorkers([report('w1', { a: 1 })]);
    const differ = verifyWorkers([report('w1', { a: 1 }), report('w2', { a: 2 }), report('w3', { a: 2 })]);
    logBanner(log, 1, same);
    logBanner(log, 3, differ);
    expect(calls).toEqual([
      ['info', { identical: true, mismatched: 0 }, bannerLines(1, same).join('\n')],
      ['warn', { identical: false, mismatched: 1 }, bannerLines(3, differ).join('\n')],
    ]);
  });
});

describe('job statistics', () => {
  const counts = (t: Partial<TallyCounts>): TallyCounts => ({ started: 0, completed: 0, failed: 0, moved: 0, totalMs: 0, maxMs: 0, ...t });
  const started = (name: string, n = 1) => ({ name, ...counts({ started: n }) });
  const finished = (name: string, outcome: 'completed' | 'failed', ms: number) => ({ name, ...counts({ [outcome]: 1, totalMs: ms, maxMs: ms }) });

  it('adds reported tallies: starts, outcomes, active jobs and durations', () => {
    const c = emptyCounters();
    expect(c).toEqual({ started: 0, completed: 0, failed: 0, moved: 0, active: 0, total_ms: 0, max_ms: 0 });
    addTally(c, counts({ started: 3 }));
    addTally(c, counts({ completed: 1, failed: 1, totalMs: 40.66, maxMs: 30.4 }));
    expect(c).toEqual({ started: 3, completed: 1, failed: 1, moved: 0, active: 1, total_ms: 40.66, max_ms: 30.4 });
    expect(viewCounters(c)).toEqual({ started: 3, completed: 1, failed: 1, moved: 0, active: 1, total_ms: 41, max_ms: 30, mean_ms: 20.3 });
    addTally(c, counts({ completed: 2, totalMs: 2, maxMs: 1 }));
    expect(c.active).toBe(0);
    expect(c.max_ms).toBe(30.4);
    // A report that started and finished jobs within one interval leaves active as it was.
    addTally(c, counts({ started: 5, completed: 5, totalMs: 5, maxMs: 1 }));
    expect(c).toMatchObject({ started: 8, completed: 8, active: 0 });
    // A run that moved its job (a step job's DelayedError) ended without an outcome or a duration.
    addTally(c, counts({ started: 2 }));
    addTally(c, counts({ moved: 1 }));
    expect(c).toMatchObject({ started: 10, completed: 8, moved: 1, active: 1, total_ms: 47.66 });
    addTally(c, counts({ moved: 1 }));
    expect(c.active).toBe(0);
    expect(viewCounters(emptyCounters()).mean_ms).toBe(0);
  });

  it('per job name, bounded: names past the limit are counted as other', () => {
    const stats = new JobStatsByName(2);
    for (const name of ['a', 'b', 'c', 'd']) stats.add(started(name));
    expect(stats.label('a')).toBe('a');
    expect(stats.label('c')).toBe(OTHER_JOB_NAMES);
    stats.add(finished('a', 'completed', 4));
    stats.add(finished('d', 'failed', 8));
    const view = stats.view();
    expect(Object.keys(view)).toEqual(['a', 'b', OTHER_JOB_NAMES]);
    expect(view.a).toMatchObject({ started: 1, completed: 1, active: 0, mean_ms: 4 });
    expect(view[OTHER_JOB_NAMES]).toMatchObject({ started: 2, failed: 1, active: 1, max_ms: 8 });
    // `other` is no name of its own: with it present, two named ones still fit.
    const fresh = new JobStatsByName(1);
    fresh.add(started('x'));
    fresh.add(started('y'));
    expect(fresh.label('x')).toBe('x');
    expect(fresh.label('z')).toBe(OTHER_JOB_NAMES);
    expect(new JobStatsByName().label('n')).toBe('n');
  });

  it('jobs of a dead worker are no longer active, never below zero', () => {
    const stats = new JobStatsByName(5);
    stats.add(started('a', 2));
    stats.abandoned(['a']);
    expect(stats.view().a!.active).toBe(1);
    stats.abandoned(['a', 'a', 'b']);
    expect(stats.view().a!.active).toBe(0);
    expect(stats.view().b).toMatchObject({ started: 0, active: 0 });
  });

  it('a default limit of 50 names', () => {
    const stats = new JobStatsByName();
    for (let i = 0; i < 51; i += 1) stats.add(started(`n${i}`));
    expect(stats.label('n49')).toBe('n49');
    expect(stats.label('n50')).toBe(OTHER_JOB_NAMES);
  });
});

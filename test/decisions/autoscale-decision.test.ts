import { describe, expect, it } from 'vitest';
import { decideScale, INITIAL_SCALE_STATE, memoryRoomFor, slotsFull, type ScaleObservation, type ScaleSettings } from '../../src/supervisor/autoscale-decision.js';

const settings: ScaleSettings = { min: 2, max: 8, concurrency: 4, quietWindowMs: 30_000 };
const MiB = 1048576;

function observe(over: Partial<ScaleObservation> = {}): ScaleObservation {
  const workers = over.workers ?? 2;
  return { now: 1_000_000, workers, starting: 0, ready: workers - (over.starting ?? 0), busy: 0, waiting: undefined, memory: undefined, frozen: false, ...over };
}

describe('growing', () => {
  it('every slot busy and jobs waiting: enough workers for the backlog at once', () => {
    const decision = decideScale(settings, INITIAL_SCALE_STATE, observe({ busy: 8, waiting: 10 }));
    expect(decision.target).toBe(5); // 2 + ceil(10 / 4)
    expect(decision.reason).toBe('all 8 slots busy and 10 job(s) waiting: +3 worker(s)');
  });

  it('never above max, and says so when held there', () => {
    expect(decideScale(settings, INITIAL_SCALE_STATE, observe({ busy: 8, waiting: 1000 })).target).toBe(8);
    const held = decideScale(settings, INITIAL_SCALE_STATE, observe({ workers: 8, busy: 32, waiting: 1000 }));
    expect(held).toMatchObject({ target: 8, reason: expect.stringContaining('at the maximum of 8') });
  });

  it('busy slots without a backlog (a capped or rate-limited queue) add nothing', () => {
    expect(decideScale(settings, INITIAL_SCALE_STATE, observe({ busy: 8, waiting: 0 })).target).toBe(2);
    expect(decideScale(settings, INITIAL_SCALE_STATE, observe({ busy: 8, waiting: undefined })).target).toBe(2);
  });

  it('a backlog while slots are free (a fetch in flight) adds nothing', () => {
    expect(decideScale(settings, INITIAL_SCALE_STATE, observe({ busy: 7, waiting: 50 })).target).toBe(2);
  });

  it('nothing more while a worker is still starting: it is capacity the backlog does not see yet', () => {
    const decision = decideScale(settings, INITIAL_SCALE_STATE, observe({ workers: 5, starting: 3, busy: 8, waiting: 100 }));
    expect(decision).toMatchObject({ target: 5, reason: '3 worker(s) still starting' });
  });

  it('never past what the memory limit leaves room for at the measured worker size', () => {
    // 1000 MiB limit, 10 % reserved: 900 usable, 500 used, 100 MiB per worker: room for 4.
    const memory = { limitBytes: 1000 * MiB, usedBytes: 500 * MiB, workerBytes: 100 * MiB };
    expect(memoryRoomFor(memory)).toBe(4);
    const capped = decideScale(settings, INITIAL_SCALE_STATE, observe({ busy: 8, waiting: 1000, memory }));
    expect(capped).toMatchObject({ target: 6, reason: expect.stringContaining('(memory limit: room for 4 more)') });
    const full = decideScale(settings, INITIAL_SCALE_STATE, observe({ busy: 8, waiting: 1000, memory: { ...memory, usedBytes: 850 * MiB } }));
    expect(full).toMatchObject({ target: 2, reason: expect.stringContaining('has no room for another 100 MiB worker') });
    expect(memoryRoomFor(undefined)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('shrinking', () => {
  it('a whole worker of idle slots for the quiet window drains one, then waits another window', () => {
    const first = decideScale(settings, INITIAL_SCALE_STATE, observe({ workers: 5, busy: 12 }));
    expect(first.target).toBe(5);
    expect(first.state.spareSince).toBe(1_000_000);
    const before = decideScale(settings, first.state, observe({ workers: 5, busy: 12, now: 1_029_999 }));
    expect(before.target).toBe(5);
    const after = decideScale(settings, before.state, observe({ workers: 5, busy: 12, now: 1_030_000 }));
    expect(after.target).toBe(4);
    expect(after.reason).toBe('12 of 20 slots busy for 30s (quiet window 30s): -1 worker');
    expect(decideScale(settings, after.state, observe({ workers: 4, now: 1_030_001 })).target).toBe(4);
    expect(decideScale(settings, after.state, observe({ workers: 4, now: 1_060_000 })).target).toBe(3);
  });

  it('the quiet window restarts when the spare capacity is used again', () => {
    const spare = decideScale(settings, INITIAL_SCALE_STATE, observe({ workers: 4, busy: 0 }));
    const busy = decideScale(settings, spare.state, observe({ workers: 4, busy: 13, now: 1_020_000 }));
    expect(busy.state.spareSince).toBeUndefined();
    const later = decideScale(settings, busy.state, observe({ workers: 4, busy: 0, now: 1_040_000 }));
    expect(later.target).toBe(4); // only 0 s of a new window
  });

  it('never below min', () => {
    const state = { spareSince: 0 };
    expect(decideScale(settings, state, observe({ workers: 2, busy: 0 }))).toMatchObject({ target: 2, reason: 'at the minimum of 2' });
  });
});

describe('bounds and holds', () => {
  it('a pool resized outside the range by hand is brought back', () => {
    expect(decideScale(settings, INITIAL_SCALE_STATE, observe({ workers: 1 }))).toMatchObject({ target: 2, reason: 'below the minimum of 2' });
    expect(decideScale(settings, INITIAL_SCALE_STATE, observe({ workers: 11 }))).toMatchObject({ target: 8, reason: 'above the maximum of 8' });
  });

  it('quiet or shutting down: no change whatever the load', () => {
    expect(decideScale(settings, INITIAL_SCALE_STATE, observe({ busy: 8, waiting: 100, frozen: true })).target).toBe(2);
  });

  it('slotsFull counts ready workers only', () => {
    expect(slotsFull({ ready: 2, busy: 8 }, 4)).toBe(true);
    expect(slotsFull({ ready: 0, busy: 0 }, 4)).toBe(false);
    expect(slotsFull({ ready: 2, busy: 7 }, 4)).toBe(false);
  });

  it('a crash-looping worker is neither capacity nor a reason to wait; it holds a shrink back', () => {
    // 3 workers, 1 restarting: the 2 ready ones are full and jobs wait, so one more comes.
    expect(decideScale(settings, INITIAL_SCALE_STATE, observe({ workers: 3, ready: 2, busy: 8, waiting: 4 })).target).toBe(4);
    expect(decideScale(settings, { spareSince: 0 }, observe({ workers: 3, ready: 2, busy: 0 })).target).toBe(3);
  });
});

describe('every decision says why, and what it leaves of the quiet window', () => {
  it('the reasons in full, and the state each decision leaves', () => {
    const quiet = decideScale(settings, INITIAL_SCALE_STATE, observe({ workers: 3, busy: 0, frozen: true }));
    expect(quiet).toEqual({ target: 3, reason: 'quiet or shutting down: the pool is not resized', state: { spareSince: undefined } });
    expect(decideScale(settings, { spareSince: 5 }, observe({ workers: 1 }))).toEqual({ target: 2, reason: 'below the minimum of 2', state: { spareSince: undefined } });
    expect(decideScale(settings, { spareSince: 5 }, observe({ workers: 9 }))).toEqual({ target: 8, reason: 'above the maximum of 8', state: { spareSince: undefined } });
    expect(decideScale(settings, { spareSince: 5 }, observe({ busy: 8, waiting: 1 }))).toEqual({ target: 3, reason: 'all 8 slots busy and 1 job(s) waiting: +1 worker(s)', state: { spareSince: undefined } });
    expect(decideScale(settings, { spareSince: 5 }, observe({ workers: 3, busy: 9 }))).toEqual({ target: 3, reason: '9 of 12 slots busy', state: { spareSince: undefined } });
    // Spare for 12.34 s of a 30 s window: the seconds rounded to a tenth.
    const now = 1_000_000;
    expect(decideScale(settings, { spareSince: now - 12_340 }, observe({ workers: 3, busy: 1 })))
      .toEqual({ target: 3, reason: '1 of 12 slots busy for 12.3s of the 30s quiet window', state: { spareSince: now - 12_340 } });
  });

  it('growing needs a known backlog of at least one job', () => {
    expect(decideScale(settings, INITIAL_SCALE_STATE, observe({ workers: 3, busy: 12, waiting: undefined })).reason).toBe('12 of 12 slots busy');
  });

  it('exactly one whole worker of idle slots is spare; less is not', () => {
    const now = 1_000_000;
    expect(decideScale(settings, { spareSince: now - 30_000 }, observe({ workers: 3, busy: 8 })).target).toBe(2);
    expect(decideScale(settings, { spareSince: now - 30_000 }, observe({ workers: 3, busy: 9 })).target).toBe(3);
  });

  it('a measured worker size of 0 bytes sets no memory bound', () => {
    expect(memoryRoomFor({ limitBytes: 100 * MiB, usedBytes: 100 * MiB, workerBytes: 0 })).toBe(Number.POSITIVE_INFINITY);
    expect(memoryRoomFor({ limitBytes: 100 * MiB, usedBytes: 100 * MiB, workerBytes: 1 })).toBe(0);
  });
});

import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hungSlots } from '../../src/supervisor/hang-watchdog.js';
import { freeIndexes } from '../../src/supervisor/operations.js';
import { newSlot } from '../../src/supervisor/slot.js';
import { becameReady, canMove, draining, exited, forked, queueFailing, quieted, recycled, restartScheduled, stopped } from '../../src/supervisor/slot-lifecycle.js';
import { jobLimit } from '../../src/worker/job-limit.js';

// A stand-in for the fork's handle: the lifecycle reads only its pid (no process is involved).
const child = (pid: number) => ({ pid }) as ChildProcess;
const never = setTimeout(() => {}, 0);

describe('a slot\'s lifecycle', () => {
  it('starting → ready → draining → (refilled) starting, through the functions only', () => {
    const slot = newSlot(1, 'w-1');
    forked(slot, child(10), 1000);
    expect(slot).toMatchObject({ state: 'starting', pid: 10, startedAt: 1000, lastSeen: 1000 });
    becameReady(slot);
    expect(slot.state).toBe('ready');
    draining(slot, { kind: 'recycle', reason: 'max-jobs' });
    expect(slot).toMatchObject({ state: 'draining', departure: { kind: 'recycle', reason: 'max-jobs' } });
    becameReady(slot); // a late "ready" never undoes a drain
    expect(slot.state).toBe('draining');
    exited(slot, 'exit code 0');
    recycled(slot, 'max-jobs');
    forked(slot, child(11), 2000);
    expect(slot).toMatchObject({ state: 'starting', pid: 11, recycles: { 'max-jobs': 1 }, departure: undefined, lastExit: 'exit code 0' });
  });

  it('quiet: a ready slot turns quiet, a starting one becomes quiet when ready, and quiet only drains or dies', () => {
    const ready = newSlot(3, 'w-3');
    forked(ready, child(30));
    becameReady(ready);
    quieted(ready);
    expect(ready.state).toBe('quiet');
    const starting = newSlot(4, 'w-4');
    forked(starting, child(40));
    quieted(starting); // not ready yet: stays starting…
    expect(starting.state).toBe('starting');
    becameReady(starting, true); // …and comes up quiet
    expect(starting.state).toBe('quiet');
    expect(canMove('quiet', 'ready')).toBe(false); // no way back, as in Sidekiq
    expect(canMove('quiet', 'draining')).toBe(true);
    expect(canMove('quiet', 'restarting')).toBe(true);
    expect(hungSlots([ready], 1000, ready.lastSeen + 1001)).toEqual([ready]); // a quiet worker can hang too
  });

  it('a crash schedules a restart, a crash loop backs off, and stopped is final', () => {
    const slot = newSlot(2, 'w-2');
    forked(slot, child(20));
    slot.running.set('q:1', { name: 'job', startedAt: 0 });
    slot.errors.set('q', { error: 'WRONGTYPE', count: 3, since: 0 });
    exited(slot, 'signal SIGKILL');
    expect(slot.running.size).toBe(0);
    expect(slot.errors.size).toBe(0);
    restartScheduled(slot, { delayMs: 500, quickDeaths: 3, crashLoop: true }, never, 1000);
    expect(slot).toMatchObject({ state: 'crash-loop', nextStartAt: 1500, quickDeaths: 3 });
    stopped(slot);
    expect(slot).toMatchObject({ state: 'stopped', nextStartAt: undefined, restartTimer: undefined });
    expect(() => forked(slot, child(21))).toThrow(/no transition from stopped to starting/);
  });

  it('allows exactly the transitions drawn in slot-lifecycle.ts', () => {
    expect(canMove('starting', 'ready')).toBe(true);
    expect(canMove('ready', 'starting')).toBe(false); // only through an exit
    expect(canMove('restarting', 'ready')).toBe(false);
    expect(canMove('draining', 'ready')).toBe(false);
    expect(canMove('stopped', 'starting')).toBe(false);
    expect(canMove('crash-loop', 'starting')).toBe(true);
  });

  it('a failing queue is news once, then only its count grows', () => {
    const slot = newSlot(3, 'w-3');
    expect(queueFailing(slot, 'llm', 'WRONGTYPE', 2, 100)).toBe(true);
    expect(queueFailing(slot, 'llm', 'WRONGTYPE', 9, 200)).toBe(false);
    expect(slot.errors.get('llm')).toEqual({ error: 'WRONGTYPE', count: 9, since: 100 });
  });
});

describe('the supervisor\'s small decisions', () => {
  it('a ready worker silent past the limit is hung; a starting or recent one is not', () => {
    const quiet = newSlot(1, 'a');
    forked(quiet, child(1), 0);
    becameReady(quiet);
    const starting = newSlot(2, 'b');
    forked(starting, child(2), 0);
    const recent = newSlot(3, 'c');
    forked(recent, child(3), 0);
    becameReady(recent);
    recent.lastSeen = 9_500;
    expect(hungSlots([quiet, starting, recent], 5_000, 10_000).map((s) => s.name)).toEqual(['a']);
    expect(hungSlots([quiet], 10_000, 10_000)).toEqual([]); // exactly at the limit: not yet
    expect(hungSlots([quiet], 0, 1e9)).toEqual([]); // 0 = never
  });

  it('new slots take the lowest free indexes', () => {
    expect(freeIndexes([1, 2, 4], 2)).toEqual([3, 5]);
    expect(freeIndexes([], 1)).toEqual([1]);
  });

  it('a worker\'s job limit is MAX_JOBS_PER_WORKER plus its own share of MAX_JOBS_JITTER', () => {
    expect(jobLimit(0, 10)).toBe(Infinity);
    expect(jobLimit(100, 0, () => 0.99)).toBe(100);
    expect(jobLimit(100, 10, () => 0)).toBe(100);
    expect(jobLimit(100, 10, () => 0.999)).toBe(110);
    expect(jobLimit(100, 10, () => 0.5)).toBe(105);
    // Spread across a fleet: many draws cover the whole range, never past it.
    const limits = new Set(Array.from({ length: 2000 }, () => jobLimit(100, 10)));
    expect(Math.min(...limits)).toBe(100);
    expect(Math.max(...limits)).toBe(110);
  });
});

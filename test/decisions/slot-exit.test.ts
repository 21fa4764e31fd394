import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { newSlot, runningJobsOf } from '../../src/supervisor/slot.js';
import {
  beatReceived, becameReady, checked, deadlineMet, deadlineSet, draining, exitKind, forked, heard, killedForTimeout, queueFailing, queueRecovered, recycleRefused,
  restartDue, workerGone,
} from '../../src/supervisor/slot-lifecycle.js';
import { SlotTable } from '../../src/supervisor/slot-table.js';

// A stand-in for the fork's handle: the lifecycle reads only its pid (no process is involved).
const child = (pid: number) => ({ pid }) as ChildProcess;

function live(index = 1) {
  const slot = newSlot(index, `w-${index}`);
  forked(slot, child(100 + index), 1000);
  becameReady(slot);
  return slot;
}

describe('a worker\'s exit, taken as it happened (workerGone)', () => {
  it('exit 0 of a worker asked to go is clean; the slot forgets its process', () => {
    const slot = live();
    draining(slot, { kind: 'recycle', reason: 'max-jobs' });
    slot.running.set('q:1', { name: 'n', startedAt: 1 });
    const gone = workerGone(slot, 0, null, false, 4000);
    expect(gone).toEqual({ exit: 'exit code 0', uptimeMs: 3000, departure: { kind: 'recycle', reason: 'max-jobs' }, clean: true, killedForTimeout: false });
    expect(slot).toMatchObject({ child: undefined, lastExit: 'exit code 0' });
    expect(slot.running.size).toBe(0);
  });

  it('exit 0 of a worker nobody asked to go is no clean exit (a processor calling process.exit); while stopping it is', () => {
    expect(workerGone(live(), 0, null, false, 2000).clean).toBe(false);
    expect(workerGone(live(), 0, null, true, 2000).clean).toBe(true);
  });

  it('a recycle the supervisor did not kill for is no kill for a timeout, clean or not', () => {
    const slot = live();
    draining(slot, { kind: 'recycle', reason: 'redis-unreachable' });
    expect(workerGone(slot, null, 'SIGKILL', false, 2000).killedForTimeout).toBe(false);
  });

  it('a signal or a non-zero code is never clean, even asked to go', () => {
    const signalled = live();
    draining(signalled, { kind: 'remove' });
    expect(workerGone(signalled, null, 'SIGKILL', true, 2000)).toMatchObject({ exit: 'signal SIGKILL', clean: false });
    const failed = live();
    draining(failed, { kind: 'remove' });
    expect(workerGone(failed, 1, null, true, 2000).clean).toBe(false);
  });

  it('killed for a timeout: said so, whatever its code', () => {
    const slot = live();
    killedForTimeout(slot, new Map([['q:7', 'timed out after 2 s']]));
    expect(slot.timedOut.get('q:7')).toBe('timed out after 2 s');
    expect(slot).toMatchObject({ state: 'draining', departure: { kind: 'recycle', reason: 'job-timeout', killed: true } });
    expect(workerGone(slot, null, 'SIGKILL', false, 2000)).toMatchObject({ clean: false, killedForTimeout: true });
    const recycled = live();
    draining(recycled, { kind: 'recycle', reason: 'manual' });
    expect(workerGone(recycled, 0, null, false, 2000).killedForTimeout).toBe(false);
  });

  it('a never-started slot has no uptime', () => {
    const slot = newSlot(1, 'w-1');
    expect(workerGone(slot, 1, null, false, 5000).uptimeMs).toBe(0);
  });
});

describe('what follows an exit (exitKind)', () => {
  const gone = (over: Partial<Parameters<typeof exitKind>[0]>) => ({ exit: 'exit code 0', uptimeMs: 1, departure: undefined, clean: false, killedForTimeout: false, ...over });
  it('stopping wins over everything', () => {
    expect(exitKind(gone({ departure: { kind: 'remove' }, clean: true }), true)).toBe('stop');
    expect(exitKind(gone({}), true)).toBe('stop');
  });
  it('a removed slot goes, clean or not', () => {
    expect(exitKind(gone({ departure: { kind: 'remove' } }), false)).toBe('remove');
    expect(exitKind(gone({ departure: { kind: 'remove' }, clean: true }), false)).toBe('remove');
  });
  it('a recycle is refilled when clean or killed for a timeout; otherwise it crashed', () => {
    const departure = { kind: 'recycle', reason: 'max-jobs' } as const;
    expect(exitKind(gone({ departure, clean: true }), false)).toBe('recycle');
    expect(exitKind(gone({ departure, killedForTimeout: true }), false)).toBe('recycle');
    expect(exitKind(gone({ departure }), false)).toBe('crash');
    expect(exitKind(gone({ clean: true }), false)).toBe('crash');
  });
});

describe('the slot fields a worker\'s messages set', () => {
  it('heard, ready with settings, checks, queue errors, refused recycles, restarts, deadlines', () => {
    const slot = newSlot(1, 'w-1');
    forked(slot, child(5), 1000);
    heard(slot, 1500);
    expect(slot.lastSeen).toBe(1500);
    becameReady(slot, false, { WORKER_CONCURRENCY: 2 });
    expect(slot).toMatchObject({ state: 'ready', settings: { WORKER_CONCURRENCY: 2 } });
    becameReady(slot);
    expect(slot.settings).toEqual({ WORKER_CONCURRENCY: 2 });
    const report = { type: 'check', queue: 'q', ok: true, checkedAt: 1 } as const;
    checked(slot, report);
    expect(slot.checks.get('q')).toBe(report);
    queueFailing(slot, 'q', 'WRONGTYPE', 3, 1600);
    queueFailing(slot, 'r', 'WRONGTYPE', 3, 1600);
    queueRecovered(slot, 'q');
    expect([...slot.errors.keys()]).toEqual(['r']);
    recycleRefused(slot, 'would loop');
    expect(slot.recycleRefused).toBe('would loop');
    restartDue(slot);
    restartDue(slot);
    expect(slot.restarts).toBe(2);
    deadlineSet(slot, 'q:1', 2000, 1700);
    deadlineSet(slot, 'q:2', 500, 1700);
    expect(slot.deadlines.get('q:1')).toEqual({ at: 3700, timeoutMs: 2000 });
    deadlineMet(slot, 'q:1');
    expect([...slot.deadlines.keys()]).toEqual(['q:2']);
  });
});

describe('a worker\'s heartbeat (beatReceived)', () => {
  it('is kept with when it came, without its message type; true only when its state changed', () => {
    const slot = live();
    heard(slot, 7000);
    const beat = { state: 'ready', completed: 3, failed: 1, active: 2, redisDownMs: 0 };
    expect(beatReceived(slot, { type: 'alive', ...beat })).toBe(true);
    expect(slot.beat).toEqual({ ...beat, at: 7000 });
    heard(slot, 8000);
    expect(beatReceived(slot, { type: 'alive', ...beat, completed: 4 })).toBe(false);
    expect(slot.beat).toEqual({ ...beat, completed: 4, at: 8000 });
    expect(beatReceived(slot, { ...beat, state: 'draining' })).toBe(true);
  });
});

describe('the slot table and what observers read', () => {
  it('keeps index order, adds and removes in place, tells the staying slots apart', () => {
    const [one, two, three] = [newSlot(1, 'w-1'), newSlot(2, 'w-2'), newSlot(3, 'w-3')];
    const table = new SlotTable([three, one]);
    expect(table.all().map((s) => s.index)).toEqual([1, 3]);
    table.add(two);
    expect(table.all().map((s) => s.index)).toEqual([1, 2, 3]);
    expect(table.size).toBe(3);
    expect(table.byName('w-2')).toBe(two);
    expect(table.byName('w-9')).toBeUndefined();
    forked(three, child(3));
    draining(three, { kind: 'remove' });
    expect(table.staying()).toEqual([one, two]);
    table.remove(two);
    table.remove(two);
    expect(table.all()).toEqual([one, three]);
    expect(table.has(two)).toBe(false);
    expect(table.has(one)).toBe(true);
  });

  it('a worker\'s running jobs, oldest first, split at the first colon', () => {
    const slot = newSlot(1, 'w-1');
    slot.running.set('q:b:2', { name: 'late', startedAt: 20 });
    slot.running.set('q:a', { name: 'early', startedAt: 10 });
    expect(runningJobsOf(slot)).toEqual([
      { queue: 'q', id: 'a', name: 'early', startedAt: 10 },
      { queue: 'q', id: 'b:2', name: 'late', startedAt: 20 },
    ]);
    expect(runningJobsOf(undefined)).toEqual([]);
  });
});

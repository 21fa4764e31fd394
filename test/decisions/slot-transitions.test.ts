import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { newSlot, type SlotState } from '../../src/supervisor/slot.js';
import { becameReady, canMove, draining, exited, forked, queueFailing, recycled, restartScheduled, stopped } from '../../src/supervisor/slot-lifecycle.js';

const child = (pid: number) => ({ pid }) as ChildProcess;
const STATES: SlotState[] = ['starting', 'ready', 'draining', 'restarting', 'crash-loop', 'stopped'];

describe('slot transitions, the whole table', () => {
  // Written out from the lifecycle's diagram, independently of slot-lifecycle.ts's table.
  const allowed = new Set([
    'starting>ready', 'starting>draining', 'starting>restarting', 'starting>crash-loop', 'starting>stopped',
    'ready>draining', 'ready>restarting', 'ready>crash-loop', 'ready>stopped',
    'draining>starting', 'draining>restarting', 'draining>crash-loop', 'draining>stopped',
    'restarting>starting', 'restarting>stopped',
    'crash-loop>starting', 'crash-loop>stopped',
  ]);
  it.each(STATES.flatMap((from) => STATES.map((to) => [from, to] as const)))('%s → %s', (from, to) => {
    expect(canMove(from, to)).toBe(allowed.has(`${from}>${to}`));
  });

  it('an illegal move throws naming the slot and both states; a move to the same state is none', () => {
    const slot = newSlot(1, 'w-1');
    forked(slot, child(1));
    stopped(slot);
    expect(() => forked(slot, child(2))).toThrow('slot w-1: no transition from stopped to starting');
    const other = newSlot(2, 'w-2');
    forked(other, child(3));
    draining(other);
    draining(other, { kind: 'remove' });
    expect(other).toMatchObject({ state: 'draining', departure: { kind: 'remove' } });
    draining(other);
    expect(other.departure).toEqual({ kind: 'remove' });
  });
});

describe('what each step resets', () => {
  it('a fork forgets everything about the previous worker', () => {
    const slot = newSlot(1, 'w-1');
    forked(slot, child(10), 1000);
    slot.running.set('q:1', { name: 'n', startedAt: 0 });
    slot.errors.set('q', { error: 'x', count: 1, since: 0 });
    slot.recycleRefused = 'too big';
    exited(slot, 'signal SIGKILL');
    const timer = setTimeout(() => {}, 0);
    restartScheduled(slot, { delayMs: 200, quickDeaths: 0, crashLoop: false }, timer, 5000);
    expect(slot).toMatchObject({ state: 'restarting', nextStartAt: 5200, restartTimer: timer, quickDeaths: 0 });
    slot.departure = { kind: 'remove' };
    slot.running.set('q:2', { name: 'n', startedAt: 0 });
    slot.errors.set('q', { error: 'x', count: 1, since: 0 });
    forked(slot, child(11), 6000);
    expect(slot).toMatchObject({
      state: 'starting', pid: 11, startedAt: 6000, lastSeen: 6000, restartTimer: undefined, nextStartAt: undefined,
      departure: undefined, recycleRefused: undefined, lastExit: 'signal SIGKILL',
    });
    expect(slot.child).toEqual(child(11));
    expect(slot.running.size).toBe(0);
    expect(slot.errors.size).toBe(0);
  });

  it('an exit drops the process and its running jobs, keeps the counters', () => {
    const slot = newSlot(1, 'w-1');
    forked(slot, child(10));
    slot.jobs.active = 2;
    slot.jobs.completed = 5;
    exited(slot, 'exit code 3');
    expect(slot).toMatchObject({ child: undefined, lastExit: 'exit code 3', jobs: { active: 0, completed: 5 } });
  });

  it('stopped clears a pending restart', () => {
    const slot = newSlot(1, 'w-1');
    forked(slot, child(10));
    exited(slot, 'signal SIGKILL');
    const timer = setTimeout(() => {}, 10_000);
    restartScheduled(slot, { delayMs: 10_000, quickDeaths: 4, crashLoop: true }, timer, 0);
    expect(slot.state).toBe('crash-loop');
    stopped(slot);
    expect(slot).toMatchObject({ state: 'stopped', restartTimer: undefined, nextStartAt: undefined, quickDeaths: 4 });
    clearTimeout(timer);
  });

  it('recycles are counted per reason and clear the departure', () => {
    const slot = newSlot(1, 'w-1');
    slot.departure = { kind: 'recycle', reason: 'max-jobs' };
    recycled(slot, 'max-jobs');
    recycled(slot, 'max-jobs');
    recycled(slot, 'manual');
    expect(slot.recycles).toEqual({ 'max-jobs': 2, manual: 1 });
    expect(slot.departure).toBeUndefined();
  });

  it('a failing queue is worth a log line once; later reports update it and keep when it began', () => {
    const slot = newSlot(1, 'w-1');
    expect(queueFailing(slot, 'q', 'WRONGTYPE', 1, 100)).toBe(true);
    expect(queueFailing(slot, 'q', 'WRONGTYPE again', 7, 200)).toBe(false);
    expect(slot.errors.get('q')).toEqual({ error: 'WRONGTYPE again', count: 7, since: 100 });
    expect(queueFailing(slot, 'other', 'x', 1, 300)).toBe(true);
  });

  it('only a starting worker becomes ready', () => {
    for (const state of ['restarting', 'crash-loop', 'stopped', 'draining'] as const) {
      const slot = newSlot(1, 'w-1');
      slot.state = state;
      becameReady(slot);
      expect(slot.state).toBe(state);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { COMMAND_BURST, COMMAND_EVERY_MS, CommandRate } from '../../src/dashboard/command-rate.js';
import { MAX_WORKERS } from '../../src/config/config.js';
import { collapseCommands, parseCommand } from '../../src/fleet/commands.js';

describe('checking a command (the page\'s body, the Redis list)', () => {
  it('takes each action with its own fields; recycle defaults to all workers', () => {
    expect(parseCommand({ action: 'quiet', host: 'web-1' })).toEqual({ command: { action: 'quiet', host: 'web-1' } });
    expect(parseCommand({ action: 'recycle', host: 'a' })).toEqual({ command: { action: 'recycle', host: 'a', worker: 'all' } });
    expect(parseCommand({ action: 'recycle', host: 'a', worker: null })).toEqual({ command: { action: 'recycle', host: 'a', worker: 'all' } });
    expect(parseCommand({ action: 'recycle', host: 'a', worker: 'all' })).toEqual({ command: { action: 'recycle', host: 'a', worker: 'all' } });
    expect(parseCommand({ action: 'recycle', host: 'a', worker: 1 })).toEqual({ command: { action: 'recycle', host: 'a', worker: 1 } });
    expect(parseCommand({ action: 'recycle', host: 'a', worker: MAX_WORKERS })).toEqual({ command: { action: 'recycle', host: 'a', worker: MAX_WORKERS } });
    expect(parseCommand({ action: 'resize', host: 'a', workers: 1 })).toEqual({ command: { action: 'resize', host: 'a', workers: 1 } });
    expect(parseCommand({ action: 'resize', host: 'a', workers: MAX_WORKERS })).toEqual({ command: { action: 'resize', host: 'a', workers: MAX_WORKERS } });
  });

  it('refuses anything but a JSON object', () => {
    for (const body of [null, [], 'quiet', 3, undefined]) expect(parseCommand(body)).toEqual({ error: 'the body must be a JSON object' });
  });

  it('names a bad action, unknown fields, a bad host, worker or workers, with what is allowed', () => {
    expect(parseCommand({ action: 'stop', host: 'a' })).toEqual({ error: 'action "stop" is not valid: one of quiet, recycle, resize' });
    expect(parseCommand({ host: 'a' })).toEqual({ error: 'action undefined is not valid: one of quiet, recycle, resize' });
    // An Object.prototype name is no action (it threw a TypeError: a 500 from the dashboard).
    expect(parseCommand({ action: 'toString', host: 'a' })).toEqual({ error: 'action "toString" is not valid: one of quiet, recycle, resize' });
    expect(parseCommand({ action: 'quiet', host: 'a', workers: 2, x: 1 })).toEqual({ error: 'unknown field(s) for quiet: workers, x' });
    expect(parseCommand({ action: 'recycle', host: 'a', workers: 2 })).toEqual({ error: 'unknown field(s) for recycle: workers' });
    expect(parseCommand({ action: 'resize', host: 'a', worker: 2, workers: 2 })).toEqual({ error: 'unknown field(s) for resize: worker' });
    for (const host of ['', '-a', 'a b', 'a/b', 'x'.repeat(254), 7, undefined]) {
      expect(parseCommand({ action: 'quiet', host })).toEqual({ error: `host ${JSON.stringify(host)} is not valid: a container's hostname` });
    }
    expect(parseCommand({ action: 'quiet', host: `A9_.-${'x'.repeat(248)}` })).toMatchObject({ command: { host: `A9_.-${'x'.repeat(248)}` } });
    for (const worker of [0, MAX_WORKERS + 1, 1.5, '2', 'some']) {
      expect(parseCommand({ action: 'recycle', host: 'a', worker })).toEqual({ error: `worker ${JSON.stringify(worker)} is not valid: a worker index from 1 to ${MAX_WORKERS}, or "all"` });
    }
    for (const workers of [0, MAX_WORKERS + 1, 2.5, '3', undefined]) {
      expect(parseCommand({ action: 'resize', host: 'a', workers })).toEqual({ error: `workers ${JSON.stringify(workers)} is not valid: a whole number from 1 to ${MAX_WORKERS}` });
    }
  });
});

describe('collapsing a batch of commands', () => {
  const host = 'h';
  it('keeps the order, the last resize only, one quiet, one recycle of all (which covers single workers)', () => {
    expect(collapseCommands([
      { action: 'resize', host, workers: 20 }, { action: 'recycle', host, worker: 3 }, { action: 'quiet', host },
      { action: 'resize', host, workers: 1 }, { action: 'quiet', host }, { action: 'recycle', host, worker: 3 }, { action: 'recycle', host, worker: 4 },
    ])).toEqual([{ action: 'recycle', host, worker: 3 }, { action: 'quiet', host }, { action: 'resize', host, workers: 1 }, { action: 'recycle', host, worker: 4 }]);
    expect(collapseCommands([
      { action: 'recycle', host, worker: 2 }, { action: 'recycle', host, worker: 'all' }, { action: 'resize', host, workers: 5 }, { action: 'recycle', host, worker: 'all' },
    ])).toEqual([{ action: 'recycle', host, worker: 'all' }, { action: 'resize', host, workers: 5 }]);
    expect(collapseCommands([])).toEqual([]);
  });
});

describe("the fleet page's command rate", () => {
  it(`takes ${COMMAND_BURST} at once per host, then one per ${COMMAND_EVERY_MS} ms, saying how long to wait`, () => {
    const rate = new CommandRate();
    for (let i = 0; i < COMMAND_BURST; i += 1) expect(rate.take('a', 0)).toBe(0);
    expect(rate.take('a', 0)).toBe(1);
    expect(rate.take('b', 0)).toBe(0); // another container has its own
    expect(rate.take('a', 999)).toBe(1);
    expect(rate.take('a', 1000)).toBe(0);
    expect(rate.take('a', 1000)).toBe(1);
    expect(rate.take('a', 1000 + 10 * COMMAND_EVERY_MS)).toBe(0);
    // refilled to the burst, never beyond it
    for (let i = 1; i < COMMAND_BURST; i += 1) expect(rate.take('a', 1000 + 10 * COMMAND_EVERY_MS)).toBe(0);
    expect(rate.take('a', 1000 + 10 * COMMAND_EVERY_MS)).toBe(1);
  });

  it('forgets only full buckets when many hosts were seen: a drained host stays limited', () => {
    const rate = new CommandRate();
    for (let i = 0; i < COMMAND_BURST; i += 1) rate.take('drained', 0);
    // 64 hosts and more: the forgetting runs on each take.
    for (let i = 0; i < 70; i += 1) expect(rate.take(`host-${i}`, 500)).toBe(0);
    expect(rate.take('drained', 500)).toBe(1);
    // Half a second later still: 0.5 + 0.5 tokens make one command.
    expect(rate.take('drained', 1000)).toBe(0);
  });
});

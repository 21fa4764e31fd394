import { describe, expect, it } from 'vitest';
import { COMMAND_BURST, COMMAND_EVERY_MS, CommandRate } from '../../src/dashboard/command-rate.js';
import { collapseCommands } from '../../src/fleet/commands.js';

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
});

import { describe, expect, it } from 'vitest';
import { composeBacklog, type QueueCounts } from '../../src/health/queue-backlog.js';
import { loadBacklogSettings, windowFromQuery } from '../../src/health/backlog-settings.js';

// The backlog arithmetic (what /backlog and bouy_queue_backlog report), pure; test/backlog.test.ts
// reads the same cases from a real Redis through a real scheduler.

const counts = (over: Partial<QueueCounts> = {}): QueueCounts => ({ waiting: 0, prioritized: 0, delayed: 0, delayedDue: 0, active: 0, ...over });

describe('composeBacklog', () => {
  it('counts waiting + prioritized + active + the delayed jobs due within the window', () => {
    const b = composeBacklog(counts({ waiting: 3, prioritized: 2, delayed: 82, delayedDue: 2, active: 1 }), { paused: false }, 15_000);
    expect(b).toEqual({
      waiting: 3, prioritized: 2, delayed_due: 2, delayed_later: 80, active: 1, paused: false, ready: 7, backlog: 8,
      global_concurrency: null, rate_limit: null, rate_limit_starts: null, slots: 8,
    });
  });

  it('has 0 ready while paused, its running jobs still counted', () => {
    expect(composeBacklog(counts({ waiting: 5, delayed: 1, delayedDue: 1, active: 2 }), { paused: true }, 15_000))
      .toMatchObject({ waiting: 5, ready: 0, backlog: 2, slots: 2 });
  });

  it('caps the slots at the global concurrency, never the backlog', () => {
    expect(composeBacklog(counts({ waiting: 10, active: 2 }), { paused: false, globalConcurrency: 3 }, 15_000)).toMatchObject({ backlog: 12, slots: 3, global_concurrency: 3 });
    expect(composeBacklog(counts({ waiting: 1 }), { paused: false, globalConcurrency: 3 }, 15_000)).toMatchObject({ slots: 1 });
  });

  it('caps the ready jobs by the starts the rate limit allows in the window (max per limiter window touched), active on top', () => {
    const limited = (windowMs: number, durationMs: number) =>
      composeBacklog(counts({ waiting: 1000, active: 4 }), { paused: false, rateLimit: { max: 10, durationMs } }, windowMs);
    expect(limited(15_000, 60_000)).toMatchObject({ rate_limit_starts: 20, slots: 24, rate_limit: { max: 10, duration_ms: 60_000 } });
    expect(limited(60_000, 60_000)).toMatchObject({ rate_limit_starts: 20, slots: 24 });
    expect(limited(61_000, 60_000)).toMatchObject({ rate_limit_starts: 30, slots: 34 });
    expect(limited(0, 1_000)).toMatchObject({ rate_limit_starts: 10, slots: 14 });
    // Fewer ready jobs than the limit allows: the limit does not bind.
    expect(composeBacklog(counts({ waiting: 3 }), { paused: false, rateLimit: { max: 10, durationMs: 1_000 } }, 15_000)).toMatchObject({ slots: 3 });
    // Both limits: the smaller wins.
    expect(composeBacklog(counts({ waiting: 100 }), { paused: false, globalConcurrency: 5, rateLimit: { max: 10, durationMs: 1_000 } }, 15_000)).toMatchObject({ slots: 5 });
  });

  it('never counts more due delayed jobs than there are delayed jobs (two reads, a job promoted between them)', () => {
    expect(composeBacklog(counts({ delayed: 1, delayedDue: 2 }), { paused: false }, 15_000)).toMatchObject({ delayed_due: 1, delayed_later: 0 });
  });
});

describe('backlog settings', () => {
  it('takes the window from ?window= (seconds, 0-3600) or the configured default, and names a bad one', () => {
    expect(windowFromQuery(undefined, 15)).toBe(15);
    expect(windowFromQuery('30', 15)).toBe(30);
    expect(windowFromQuery('0.5', 15)).toBe(0.5);
    expect(windowFromQuery('0', 15)).toBe(0);
    expect(windowFromQuery('3600', 15)).toBe(3600);
    for (const bad of ['3601', '-1', 'abc', '', ' ', 'Infinity']) {
      expect(windowFromQuery(bad, 15), bad).toEqual({ error: `window=${JSON.stringify(bad)} is not valid: seconds from 0 to 3600 (once), e.g. window=15` });
    }
    expect(windowFromQuery(['1', '2'], 15)).toEqual({ error: 'window="1,2" is not valid: seconds from 0 to 3600 (once), e.g. window=15' });
  });

  it('reads BACKLOG_WINDOW_SECONDS and BACKLOG_TOKEN, an empty token as unset', () => {
    expect(loadBacklogSettings({})).toEqual({ windowSeconds: 15, token: undefined });
    expect(loadBacklogSettings({ BACKLOG_WINDOW_SECONDS: '30', BACKLOG_TOKEN: 'a'.repeat(16) })).toEqual({ windowSeconds: 30, token: 'a'.repeat(16) });
    expect(loadBacklogSettings({ BACKLOG_TOKEN: '' }).token).toBeUndefined();
    expect(() => loadBacklogSettings({ BACKLOG_WINDOW_SECONDS: '3601' })).toThrow('BACKLOG_WINDOW_SECONDS="3601" is not valid: a number from 0 to 3600');
    expect(() => loadBacklogSettings({ BACKLOG_TOKEN: 'x'.repeat(15) })).toThrow(/BACKLOG_TOKEN="\(hidden\)" is not valid/);
  });
});

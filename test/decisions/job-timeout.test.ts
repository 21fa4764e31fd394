import { describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import {
  deadlineOf, isOverdue, jobTimeoutMs, JobTimeoutError, MAX_TIMEOUT_MS, runWithDeadline, timedOutMessage, timeoutOptionOf, type DeadlineHooks,
} from '../../src/jobs/timeout.js';
import { rateLimitOn429, retryAfterOf } from '../../src/jobs/rate-limit.js';

const jobWith = (opts: Record<string, unknown>) => ({ opts }) as unknown as Job;

describe('a job\'s timeout (jobs/timeout.ts)', () => {
  it('opts.timeout is ms, at most one day; the CLI\'s seconds become it', () => {
    expect(MAX_TIMEOUT_MS).toBe(86_400_000);
    expect(timeoutOptionOf(2)).toBe(2000);
    expect(timeoutOptionOf(0.0015)).toBe(2);
    expect(timeoutOptionOf(86_400)).toBe(MAX_TIMEOUT_MS);
  });

  it('a job\'s own positive finite timeout wins; otherwise JOB_TIMEOUT_SECONDS; 0 = none', () => {
    expect(jobTimeoutMs(jobWith({ timeout: 1500 }), 30)).toBe(1500);
    expect(jobTimeoutMs(jobWith({}), 30)).toBe(30_000);
    expect(jobTimeoutMs(jobWith({}), 0)).toBe(0);
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '1500', null]) {
      expect(jobTimeoutMs(jobWith({ timeout: bad }), 2), String(bad)).toBe(2000);
    }
  });

  it('says how long, in seconds to a tenth', () => {
    expect(timedOutMessage(2000)).toBe('timed out after 2 s');
    expect(timedOutMessage(1250)).toBe('timed out after 1.3 s');
    expect(timedOutMessage(40)).toBe('timed out after 0 s');
    expect(new JobTimeoutError('x').name).toBe('JobTimeoutError');
    expect(new JobTimeoutError('x')).toBeInstanceOf(Error);
  });

  it('the supervisor\'s deadline: due at start + timeout, overdue only past it and the grace', () => {
    const deadline = deadlineOf(1000, 5000);
    expect(deadline).toEqual({ at: 6000, timeoutMs: 1000 });
    expect(isOverdue(deadline, 500, 6500)).toBe(false);
    expect(isOverdue(deadline, 500, 6501)).toBe(true);
    expect(isOverdue(deadline, 0, 6000)).toBe(false);
    expect(isOverdue(deadline, 0, 6001)).toBe(true);
  });
});

describe('runWithDeadline', () => {
  const hooks = (calls: string[], ignored?: () => void): DeadlineHooks => ({
    abort: (reason) => calls.push(`abort ${reason}`),
    expired: () => calls.push('expired'),
    ignored: () => { calls.push('ignored'); ignored?.(); },
  });

  it('a job done in time: its result, no hook', async () => {
    const calls: string[] = [];
    await expect(runWithDeadline(() => Promise.resolve(42), 10_000, 10, hooks(calls))).resolves.toBe(42);
    expect(calls).toEqual([]);
  });

  it('a job failing in time: its own error', async () => {
    const calls: string[] = [];
    await expect(runWithDeadline(() => Promise.reject(new Error('own')), 10_000, 10, hooks(calls))).rejects.toThrow('own');
    expect(calls).toEqual([]);
  });

  it('past the deadline: fails timed out, aborts, and says it is ignored once the grace passed', async () => {
    const calls: string[] = [];
    let told!: () => void;
    const ignored = new Promise<void>((resolve) => (told = resolve));
    const run = runWithDeadline(() => new Promise<never>(() => {}), 20, 20, hooks(calls, told));
    await expect(run).rejects.toThrow(new JobTimeoutError('timed out after 0 s'));
    await ignored;
    expect(calls).toEqual(['abort timed out after 0 s', 'expired', 'ignored']);
  });

  it('a processor that rejects on its signal still fails with the timeout, not its AbortError', async () => {
    let reject!: (error: Error) => void;
    const work = () => new Promise<never>((_, r) => (reject = r));
    const run = runWithDeadline(work, 20, 60_000, { abort: () => reject(new Error('AbortError')), expired: () => {}, ignored: () => {} });
    await expect(run).rejects.toBeInstanceOf(JobTimeoutError);
  });
});

describe('a 429 (jobs/rate-limit.ts)', () => {
  it('retryAfterOf: a positive finite retryAfterMs, at most an hour; anything else is no 429', () => {
    expect(retryAfterOf({ retryAfterMs: 1500 })).toBe(1500);
    expect(retryAfterOf({ retryAfterMs: 7_200_000 })).toBe(3_600_000);
    expect(retryAfterOf({ retryAfterMs: 3_600_000 })).toBe(3_600_000);
    for (const bad of [{ retryAfterMs: 0 }, { retryAfterMs: -1 }, { retryAfterMs: Number.NaN }, { retryAfterMs: Number.POSITIVE_INFINITY }, { retryAfterMs: '5' }, {}, null, undefined, 'x']) {
      expect(retryAfterOf(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('rateLimitOn429: a 429 holds the queue that long and becomes BullMQ\'s RateLimitError; another error stays', async () => {
    const held: number[] = [];
    const limited: number[] = [];
    const holder = { hold: (ms: number) => { held.push(ms); return Promise.resolve(); } };
    await expect(rateLimitOn429(holder, { retryAfterMs: 800 }, (ms) => limited.push(ms))).rejects.toThrow('bullmq:rateLimitExceeded');
    expect({ held, limited }).toEqual({ held: [800], limited: [800] });
    const other = new Error('boom');
    await expect(rateLimitOn429(holder, other, (ms) => limited.push(ms))).rejects.toBe(other);
    expect({ held, limited }).toEqual({ held: [800], limited: [800] });
  });
});

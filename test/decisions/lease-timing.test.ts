import { describe, expect, it } from 'vitest';
import { followerDelay, leaseTiming, MIN_TTL_MS } from '../../src/leader/timing.js';

describe('lease timing', () => {
  it('keeps a margin of max(1 s, 10 %) but at most a third, and renews every third', () => {
    expect(leaseTiming(15_000)).toEqual({ ttlMs: 15_000, validForMs: 13_500, safetyMarginMs: 1500, renewEveryMs: 5000, retryEveryMs: 5000 });
    expect(leaseTiming(3000)).toEqual({ ttlMs: 3000, validForMs: 2000, safetyMarginMs: 1000, renewEveryMs: 1000, retryEveryMs: 1000 });
    expect(leaseTiming(1500).safetyMarginMs).toBe(500);
    expect(leaseTiming(60_000).safetyMarginMs).toBe(6000);
    expect(leaseTiming(10_000).safetyMarginMs).toBe(1000);
  });

  it('takes a given margin from 0 up to (not including) two thirds of the ttl', () => {
    expect(leaseTiming(3000, 0).validForMs).toBe(3000);
    expect(leaseTiming(3000, 1999).validForMs).toBe(1001);
    expect(() => leaseTiming(3000, 2000)).toThrow('leader safety margin must be between 0 and 2/3 of the ttl (3000 ms), got 2000');
    expect(() => leaseTiming(3000, -1)).toThrow(RangeError);
    expect(() => leaseTiming(3000, Number.NaN)).toThrow(RangeError);
  });

  it('refuses a ttl under a second, or not a number', () => {
    expect(MIN_TTL_MS).toBe(1000);
    expect(leaseTiming(1000).ttlMs).toBe(1000);
    expect(() => leaseTiming(999)).toThrow('leader lease ttl must be at least 1000 ms, got 999');
    expect(() => leaseTiming(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => leaseTiming(Number.NaN)).toThrow(RangeError);
  });

  it('has a follower try when the lease runs out (5-50 ms after), never later than the retry interval (80-100 % of it)', () => {
    const timing = leaseTiming(15_000);
    expect(followerDelay(timing, 700, () => 0)).toBe(705);
    expect(followerDelay(timing, 700, () => 1)).toBe(750);
    expect(followerDelay(timing, 700, () => 0.5)).toBe(727.5);
    expect(followerDelay(timing, 60_000, () => 1)).toBe(5000);
    expect(followerDelay(timing, 60_000, () => 0.5)).toBe(4500);
    expect(followerDelay(timing, null, () => 0)).toBe(4000);
    expect(followerDelay(timing, 0, () => 0)).toBe(5);
    const drawn = followerDelay(timing, null);
    expect(drawn).toBeGreaterThanOrEqual(4000);
    expect(drawn).toBeLessThanOrEqual(5000);
  });
});

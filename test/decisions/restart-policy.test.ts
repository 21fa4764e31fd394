import { describe, expect, it } from 'vitest';
import { decideRestart, describeExit } from '../../src/supervisor/restart-policy.js';
import { healthStatus } from '../../src/health/health-status.js';
import type { SlotView } from '../../src/supervisor/slot.js';

const policy = { restartDelayMs: 10_000, minUptimeMs: 5_000, crashLoopThreshold: 3, crashLoopMaxDelayMs: 300_000 };

describe('restart policy', () => {
  it('restarts after the restart delay when the worker had lived long enough', () => {
    expect(decideRestart(policy, 60_000, 2)).toEqual({ delayMs: 10_000, crashLoop: false, quickDeaths: 0 });
  });

  it('counts quick deaths and keeps the plain delay below the threshold', () => {
    expect(decideRestart(policy, 100, 0)).toEqual({ delayMs: 10_000, crashLoop: false, quickDeaths: 1 });
    expect(decideRestart(policy, 100, 1)).toEqual({ delayMs: 10_000, crashLoop: false, quickDeaths: 2 });
  });

  it('doubles the delay in a crash loop, capped', () => {
    expect(decideRestart(policy, 100, 2)).toEqual({ delayMs: 20_000, crashLoop: true, quickDeaths: 3 });
    expect(decideRestart(policy, 100, 3).delayMs).toBe(40_000);
    expect(decideRestart(policy, 100, 20).delayMs).toBe(300_000);
  });

  it('backs off even when the restart delay is zero', () => {
    const zero = { ...policy, restartDelayMs: 0 };
    expect(decideRestart(zero, 0, 2).delayMs).toBe(2_000);
    expect(decideRestart(zero, 0, 3).delayMs).toBe(4_000);
  });

  it('describes exits in words', () => {
    expect(describeExit(null, 'SIGKILL')).toBe('signal SIGKILL');
    expect(describeExit(3, null)).toBe('exit code 3');
  });
});

describe('health status', () => {
  const slot = (state: SlotView['state']) => ({ state }) as SlotView;
  it('is healthy only when Redis answers and every slot is ready', () => {
    expect(healthStatus(true, [slot('ready'), slot('ready')])).toBe('healthy');
    expect(healthStatus(true, [slot('ready'), slot('restarting')])).toBe('degraded');
    expect(healthStatus(true, [slot('crash-loop')])).toBe('unhealthy');
    expect(healthStatus(false, [slot('ready')])).toBe('unhealthy');
  });
});

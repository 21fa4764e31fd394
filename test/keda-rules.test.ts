import { describe, expect, it } from 'vitest';
import {
  HPA_DEFAULT_SCALE_UP, HPA_TOLERANCE, hpaRecommendation, initialState, scaleDownLimit, scaleUpLimit, step,
  type Poll, type ScalerSpec, type ScalerState,
} from './helpers/keda-rules.js';

// The KEDA/HPA arithmetic test/e2e/autoscale.test.ts drives real containers with, checked
// against the rules as Kubernetes and KEDA document them, with the manifest's numbers.

/** deploy/kubernetes/keda/scaledobject.yaml's settings. */
const SPEC: ScalerSpec = {
  targetValue: 2,
  activationTargetValue: 0,
  minReplicaCount: 0,
  maxReplicaCount: 20,
  cooldownPeriodMs: 300_000,
  fallback: { failureThreshold: 3, replicas: 2 },
  tolerance: HPA_TOLERANCE,
  scaleUp: HPA_DEFAULT_SCALE_UP,
  scaleDown: { stabilizationWindowMs: 300_000, policies: [{ type: 'Pods', value: 1, periodMs: 60_000 }], selectPolicy: 'Max' },
};

/** Runs polls `every` ms apart from `state`; returns each decision's replicas and the last state. */
function run(spec: ScalerSpec, state: ScalerState, polls: Poll[], every = 15_000, start = 1_000_000) {
  const replicas: number[] = [];
  let now = start;
  for (const poll of polls) {
    const decision = step(spec, state, poll, now);
    state = decision.state;
    replicas.push(decision.replicas);
    now += every;
  }
  return { replicas, state, now };
}
const values = (...list: number[]): Poll[] => list.map((value) => ({ value }));

describe('KEDA and HPA replica arithmetic', () => {
  it('recommends ceil(metric / target), and keeps the count within ±10 %', () => {
    expect(hpaRecommendation(7, 2, 1, 0.1)).toBe(4);
    expect(hpaRecommendation(21, 2, 10, 0.1)).toBe(10); // ratio 1.05
    expect(hpaRecommendation(19, 2, 10, 0.1)).toBe(10); // ratio 0.95
    expect(hpaRecommendation(23, 2, 10, 0.1)).toBe(12); // ratio 1.15
    expect(hpaRecommendation(17, 2, 10, 0.1)).toBe(9); // ratio 0.85
  });

  it('stays at zero while the metric is at or under the activation value, and wakes to one above it', () => {
    const { replicas } = run(SPEC, initialState(0), values(0, 0, 1));
    expect(replicas).toEqual([0, 0, 1]);
  });

  it('scales up by at most +100 % or +4 pods per 15 s (whichever is more), and never past the maximum', () => {
    // 200 slots wanted: 100 pods, from 1: 5 (1+4 > 1×2), 10 (5×2 > 5+4), 20, then the maximum.
    const { replicas } = run(SPEC, initialState(1), values(200, 200, 200, 200));
    expect(replicas).toEqual([5, 10, 20, 20]);
    // Within one 15 s period the limit is measured from the period's start: 5 s later, still 5.
    const first = step(SPEC, initialState(1), { value: 200 }, 0);
    expect(step(SPEC, first.state, { value: 200 }, 5_000).replicas).toBe(5);
    expect(step(SPEC, first.state, { value: 200 }, 15_000).replicas).toBe(10);
  });

  it('scales down one pod per period, only once the stabilization window has passed since the highest recommendation', () => {
    const scaledUp = run(SPEC, initialState(1), values(12, 12), 15_000, 0); // 1 → 5 → 6
    expect(scaledUp.replicas).toEqual([5, 6]);
    // The backlog falls to 2 slots (1 pod): held at 6 for the 300 s window, then −1 per 60 s.
    let state = scaledUp.state;
    const seen: { at: number; replicas: number }[] = [];
    for (let at = scaledUp.now; at <= scaledUp.now + 600_000; at += 15_000) {
      const decision = step(SPEC, state, { value: 2 }, at);
      state = decision.state;
      seen.push({ at: at - scaledUp.now, replicas: decision.replicas });
    }
    const lastHigh = 15_000; // the last recommendation of 6 (at scaledUp.now - 15 s)
    const firstDrop = seen.find((s) => s.replicas < 6)!;
    expect(firstDrop.at + lastHigh).toBeGreaterThanOrEqual(300_000);
    expect(firstDrop.replicas).toBe(5);
    const drops = seen.filter((s, i) => i > 0 && s.replicas < seen[i - 1]!.replicas);
    expect(drops.map((d) => d.replicas)).toEqual([5, 4, 3, 2, 1]);
    for (let i = 1; i < drops.length; i += 1) expect(drops[i]!.at - drops[i - 1]!.at).toBe(60_000);
    // Never under the HPA's floor of 1 while active.
    expect(seen.at(-1)!.replicas).toBe(1);
  });

  it('goes to zero only after the cooldown period with nothing to do', () => {
    const state = step(SPEC, initialState(0), { value: 2 }, 0).state;
    expect(state.replicas).toBe(1);
    const { replicas } = run(SPEC, state, values(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 15_000, 15_000);
    // Inactive from 15 s; zero once 300 s have passed since the last active poll (at 0).
    expect(replicas.indexOf(0)).toBe(19); // at 15 s + 19 × 15 s = 300 s
    // With minReplicaCount 1 it never goes under 1: one pod a minute down to it.
    const keepOne = run({ ...SPEC, minReplicaCount: 1 }, initialState(3), values(0, 0, 0, 0, 0, 0, 0, 0, 0), 15_000, 10_000_000);
    expect(keepOne.replicas).toEqual([2, 2, 2, 2, 1, 1, 1, 1, 1]);
  });

  it('holds the count through 3 failed polls and goes to the fallback replicas once more have failed (KEDA: failures > failureThreshold)', () => {
    const failing: Poll[] = [{ error: 'ECONNREFUSED' }, { error: '503' }, { error: 'timeout' }, { error: '503' }, { error: '503' }];
    expect(run(SPEC, initialState(0), failing).replicas).toEqual([0, 0, 0, 2, 2]);
    expect(run(SPEC, initialState(1), failing).replicas).toEqual([1, 1, 1, 2, 2]);
    // A good poll resets the count of failures.
    expect(run(SPEC, initialState(1), [failing[0]!, failing[1]!, failing[2]!, { value: 2 }, failing[0]!, failing[1]!, failing[2]!]).replicas).toEqual([1, 1, 1, 1, 1, 1, 1]);
    // Without a fallback the count is held however long the metric is away.
    const { fallback: _none, ...noFallback } = SPEC;
    expect(run(noFallback, initialState(4), failing).replicas).toEqual([4, 4, 4, 4, 4]);
  });

  it('measures each policy from the replicas at its period\'s start, counting changes both ways', () => {
    const events = [{ at: 10_000, change: 4 }];
    expect(scaleUpLimit(5, events, HPA_DEFAULT_SCALE_UP, 20_000)).toBe(5); // started at 1 within 15 s
    expect(scaleUpLimit(5, events, HPA_DEFAULT_SCALE_UP, 26_000)).toBe(10);
    expect(scaleDownLimit(6, [{ at: 0, change: -1 }], SPEC.scaleDown, 30_000)).toBe(6); // one already removed this minute
    expect(scaleDownLimit(6, [{ at: 0, change: -1 }], SPEC.scaleDown, 61_000)).toBe(5);
    expect(scaleDownLimit(3, [], { stabilizationWindowMs: 0, policies: [{ type: 'Percent', value: 100, periodMs: 15_000 }], selectPolicy: 'Max' }, 0)).toBe(0);
  });
});

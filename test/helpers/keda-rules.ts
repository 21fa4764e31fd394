/**
 * KEDA's and the Kubernetes HPA's replica arithmetic, as a pure function, so a test can drive
 * real worker containers by the rules a cluster would apply to deploy/kubernetes/keda/scaledobject.yaml
 * (no KEDA operator or API server can run on this project's machines). What it follows:
 *
 * - KEDA, each `pollingInterval`: a metric above `activationTargetValue` is "active". At 0
 *   replicas, active scales to max(1, minReplicaCount); inactive for `cooldownPeriod` since the
 *   last active poll scales to minReplicaCount when that is 0. In between the HPA decides, with
 *   a floor of 1.
 * - KEDA's fallback: once more than `failureThreshold` polls in a row have failed (KEDA's
 *   `NumberOfFailures > FailureThreshold`: with 3, from the 4th) the HPA is fed
 *   `replicas × targetValue`, so it settles at `fallback.replicas`; at 0 replicas KEDA scales
 *   to them directly. Before that, a failed poll changes nothing.
 * - The HPA on an AverageValue metric: desired = ⌈metric / target⌉, unless metric /
 *   (target × current) is within ±tolerance (10 %) of 1, which keeps the current count.
 * - The HPA's behavior: a recommendation is stabilized over each direction's window (scale up to
 *   the lowest recommendation of the up window, down to the highest of the down window), then
 *   limited by the policies over their periods, measured from the replicas at the period's
 *   start (selectPolicy Max: the policy allowing the biggest change), then clamped to min/max.
 *   The defaults: up, no window, +100 % or +4 pods per 15 s; down, 300 s window, −100 % per 15 s
 *   (the manifest's: 1 pod per 60 s).
 */

export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodMs: number;
}

export interface ScalingRules {
  stabilizationWindowMs: number;
  policies: ScalingPolicy[];
  selectPolicy: 'Max' | 'Min';
}

export interface ScalerSpec {
  targetValue: number;
  activationTargetValue: number;
  minReplicaCount: number;
  maxReplicaCount: number;
  cooldownPeriodMs: number;
  fallback?: { failureThreshold: number; replicas: number };
  tolerance: number;
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** The HPA's defaults (autoscaling/v2) and KEDA's, for what a ScaledObject leaves out. */
export const HPA_DEFAULT_SCALE_UP: ScalingRules = {
  stabilizationWindowMs: 0,
  policies: [{ type: 'Percent', value: 100, periodMs: 15_000 }, { type: 'Pods', value: 4, periodMs: 15_000 }],
  selectPolicy: 'Max',
};
export const HPA_DEFAULT_SCALE_DOWN: ScalingRules = {
  stabilizationWindowMs: 300_000,
  policies: [{ type: 'Percent', value: 100, periodMs: 15_000 }],
  selectPolicy: 'Max',
};
export const HPA_TOLERANCE = 0.1;

export interface ScalerState {
  replicas: number;
  /** Failed polls in a row. */
  failures: number;
  /** When a poll last read a metric above the activation value (or the fallback held). */
  lastActiveAt: number | undefined;
  /** The HPA's unstabilized recommendations, for the stabilization windows. */
  recommendations: { at: number; replicas: number }[];
  /** Changes the HPA made, for the policies' periods (+ up, − down). */
  events: { at: number; change: number }[];
}

export type Poll = { value: number } | { error: string };

export interface Decision {
  state: ScalerState;
  replicas: number;
  /** What decided it, for the test's log. */
  reason: string;
}

export function initialState(replicas: number): ScalerState {
  return { replicas, failures: 0, lastActiveAt: undefined, recommendations: [], events: [] };
}

/** Replicas added (or, with `sign` −1, removed) by the HPA within `periodMs` before `now`. */
function changedWithin(events: ScalerState['events'], now: number, periodMs: number, sign: 1 | -1): number {
  return events.filter((e) => e.at > now - periodMs && Math.sign(e.change) === sign).reduce((sum, e) => sum + Math.abs(e.change), 0);
}

/** The most replicas the scale-up policies allow now. */
export function scaleUpLimit(current: number, events: ScalerState['events'], rules: ScalingRules, now: number): number {
  const proposals = rules.policies.map((policy) => {
    const periodStart = current - changedWithin(events, now, policy.periodMs, 1) + changedWithin(events, now, policy.periodMs, -1);
    return policy.type === 'Pods' ? periodStart + policy.value : Math.ceil(periodStart * (1 + policy.value / 100));
  });
  return rules.selectPolicy === 'Max' ? Math.max(...proposals) : Math.min(...proposals);
}

/** The fewest replicas the scale-down policies allow now. */
export function scaleDownLimit(current: number, events: ScalerState['events'], rules: ScalingRules, now: number): number {
  const proposals = rules.policies.map((policy) => {
    const periodStart = current + changedWithin(events, now, policy.periodMs, -1) - changedWithin(events, now, policy.periodMs, 1);
    return policy.type === 'Pods' ? periodStart - policy.value : Math.ceil(periodStart * (1 - policy.value / 100));
  });
  // Max: the policy that allows the biggest change, i.e. the fewest replicas.
  return Math.max(0, rules.selectPolicy === 'Max' ? Math.min(...proposals) : Math.max(...proposals));
}

/** The HPA's recommendation for an AverageValue metric: ⌈metric / target⌉, or the current count within the tolerance. */
export function hpaRecommendation(metric: number, target: number, current: number, tolerance: number): number {
  if (current > 0 && Math.abs(metric / (target * current) - 1) <= tolerance) return current;
  return Math.ceil(metric / target);
}

/** The HPA's step: stabilize, limit by the policies, clamp; records the recommendation and the change. */
function hpaStep(spec: ScalerSpec, state: ScalerState, metric: number, now: number): Decision {
  const current = state.replicas;
  const min = Math.max(1, spec.minReplicaCount);
  const raw = hpaRecommendation(metric, spec.targetValue, current, spec.tolerance);
  const keepFor = Math.max(spec.scaleUp.stabilizationWindowMs, spec.scaleDown.stabilizationWindowMs);
  const recommendations = [...state.recommendations.filter((r) => r.at > now - keepFor), { at: now, replicas: raw }];
  const within = (windowMs: number) => recommendations.filter((r) => r.at > now - windowMs || r.at === now).map((r) => r.replicas);
  const upRecommendation = Math.min(...within(spec.scaleUp.stabilizationWindowMs));
  const downRecommendation = Math.max(...within(spec.scaleDown.stabilizationWindowMs));
  let desired = current;
  let reason = `metric ${metric} / target ${spec.targetValue} → ${raw}`;
  if (desired < upRecommendation) desired = upRecommendation;
  if (desired > downRecommendation) desired = downRecommendation;
  if (desired !== raw) reason += `, stabilized to ${desired}`;
  if (desired > current) {
    const limit = scaleUpLimit(current, state.events, spec.scaleUp, now);
    if (desired > limit) reason += `, scale-up policy allows ${limit}`;
    desired = Math.min(desired, limit);
  } else if (desired < current) {
    const limit = scaleDownLimit(current, state.events, spec.scaleDown, now);
    if (desired < limit) reason += `, scale-down policy allows ${limit}`;
    desired = Math.max(desired, limit);
  }
  const clamped = Math.min(spec.maxReplicaCount, Math.max(min, desired));
  if (clamped !== desired) reason += `, clamped to ${clamped} (${min}-${spec.maxReplicaCount})`;
  const events = state.events.filter((e) => e.at > now - 3_600_000);
  if (clamped !== current) events.push({ at: now, change: clamped - current });
  return { state: { ...state, replicas: clamped, recommendations, events }, replicas: clamped, reason };
}

/** One poll of the scaler, and what KEDA and the HPA do with it. */
export function step(spec: ScalerSpec, state: ScalerState, poll: Poll, now: number): Decision {
  if ('error' in poll) {
    const failures = state.failures + 1;
    if (spec.fallback && failures > spec.fallback.failureThreshold) {
      // KEDA feeds the HPA fallback.replicas × target; while blind it does not scale to zero.
      const failed = { ...state, failures, lastActiveAt: now };
      if (state.replicas === 0) {
        return { state: { ...failed, replicas: spec.fallback.replicas }, replicas: spec.fallback.replicas, reason: `${failures} failed polls: fallback to ${spec.fallback.replicas}` };
      }
      const decision = hpaStep(spec, failed, spec.fallback.replicas * spec.targetValue, now);
      return { ...decision, reason: `${failures} failed polls: fallback (${decision.reason})` };
    }
    return { state: { ...state, failures }, replicas: state.replicas, reason: `poll failed (${failures} in a row): ${poll.error}` };
  }
  const active = poll.value > spec.activationTargetValue;
  const polled: ScalerState = { ...state, failures: 0, lastActiveAt: active ? now : state.lastActiveAt };
  if (state.replicas === 0) {
    if (!active) return { state: polled, replicas: 0, reason: `inactive (${poll.value} ≤ activation ${spec.activationTargetValue})` };
    const replicas = Math.max(1, spec.minReplicaCount);
    return { state: { ...polled, replicas, recommendations: [], events: [] }, replicas, reason: `activated (${poll.value} > ${spec.activationTargetValue}): ${replicas}` };
  }
  const idleSince = polled.lastActiveAt ?? -Infinity;
  if (!active && spec.minReplicaCount === 0 && now - idleSince >= spec.cooldownPeriodMs) {
    return { state: { ...polled, replicas: 0, recommendations: [], events: [] }, replicas: 0, reason: `inactive for the cooldown period: 0` };
  }
  return hpaStep(spec, polled, poll.value, now);
}

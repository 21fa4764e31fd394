import type { Config } from '../config/config.js';
/**
 * When to restart a worker that died, as pure functions of its history. A slot whose worker
 * keeps dying soon after start is in a crash loop: its delay doubles per quick death, capped,
 * so a broken deploy costs a log line every few minutes, not a fork storm.
 */
export interface RestartPolicy {
  readonly restartDelayMs: number;
  readonly minUptimeMs: number;
  readonly crashLoopThreshold: number;
  readonly crashLoopMaxDelayMs: number;
}

export interface RestartDecision {
  readonly delayMs: number;
  readonly crashLoop: boolean;
  /** Quick deaths in a row, including this one (0 when the worker had lived long enough). */
  readonly quickDeaths: number;
}

export function decideRestart(policy: RestartPolicy, uptimeMs: number, previousQuickDeaths: number): RestartDecision {
  const quick = uptimeMs < policy.minUptimeMs;
  const quickDeaths = quick ? previousQuickDeaths + 1 : 0;
  if (quickDeaths < policy.crashLoopThreshold) {
    return { delayMs: policy.restartDelayMs, crashLoop: false, quickDeaths };
  }
  // Backoff grows from at least one second, so a zero restart delay still backs off.
  const base = Math.max(policy.restartDelayMs, 1000);
  const exponent = quickDeaths - policy.crashLoopThreshold + 1;
  const delayMs = Math.min(base * 2 ** exponent, Math.max(policy.crashLoopMaxDelayMs, base));
  return { delayMs, crashLoop: true, quickDeaths };
}

/** Words for how a process ended, for logs: "exit code 3", "signal SIGKILL". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal ${signal}`;
  return `exit code ${code ?? 'unknown'}`;
}

/** The policy as the configuration sets it. */
export function restartPolicyOf(config: Pick<Config, 'restartDelaySeconds' | 'minUptimeSeconds' | 'crashLoopThreshold' | 'crashLoopMaxDelaySeconds'>): RestartPolicy {
  return {
    restartDelayMs: config.restartDelaySeconds * 1000,
    minUptimeMs: config.minUptimeSeconds * 1000,
    crashLoopThreshold: config.crashLoopThreshold,
    crashLoopMaxDelayMs: config.crashLoopMaxDelaySeconds * 1000,
  };
}

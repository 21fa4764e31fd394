/**
 * Small parsers for environment values. Each returns the parsed value or pushes a problem
 * that names the variable, the value it got and what is allowed, so a bad environment is
 * reported in one message rather than one restart per mistake.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class Problems {
  readonly list: string[] = [];
  add(variable: string, value: string | undefined, allowed: string): void {
    const shown = value === undefined ? '(unset)' : JSON.stringify(value);
    this.list.push(`${variable}=${shown} is not valid: ${allowed}`);
  }
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined ? undefined : value.trim();
}

export function integer(
  env: Env, problems: Problems, name: string, fallback: number, min: number, max: number,
): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) {
    problems.add(name, env[name], `a whole number from ${min} to ${max}`);
    return fallback;
  }
  const n = Number(value);
  if (n < min || n > max) {
    problems.add(name, env[name], `a whole number from ${min} to ${max}`);
    return fallback;
  }
  return n;
}

export function number(
  env: Env, problems: Problems, name: string, fallback: number, min: number, max: number,
): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const n = value === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    problems.add(name, env[name], `a number from ${min} to ${max}`);
    return fallback;
  }
  return n;
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

export function boolean(env: Env, problems: Problems, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  problems.add(name, env[name], `one of ${[...TRUE, ...FALSE].join(', ')}`);
  return fallback;
}

export function oneOf<T extends string>(
  env: Env, problems: Problems, name: string, fallback: T, allowed: readonly T[],
): T {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  problems.add(name, env[name], `one of ${allowed.join(', ')}`);
  return fallback;
}

export function text(env: Env, problems: Problems, name: string, fallback: string, pattern?: RegExp, allowed?: string): string {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (value === '' || (pattern && !pattern.test(value))) {
    problems.add(name, env[name], allowed ?? 'a non-empty value');
    return fallback;
  }
  return value;
}

/**
 * `LOW-HIGH` ports, 1 ≤ LOW ≤ HIGH ≤ 65535, or (where `single` allows) one port as a range of
 * one; undefined when the value is neither. The one reading of HEALTH_PORT_RANGE and the CLI's
 * BOUY_HEALTH_PORTS, each naming its own variable when it is undefined.
 */
export function portRange(value: string, single = false): [number, number] | undefined {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value);
  if (!match || (match[2] === undefined && !single)) return undefined;
  const low = Number(match[1]);
  const high = Number(match[2] ?? match[1]);
  return low >= 1 && high <= 65535 && low <= high ? [low, high] : undefined;
}

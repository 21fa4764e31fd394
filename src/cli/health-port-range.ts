import { portRange } from '../config/parse.js';
import { BouyError } from '../errors.js';
import type { Env } from './process.js';

/**
 * Which host port each worker container's health is published on: pure decisions over
 * BOUY_HEALTH_PORTS (see worker-ports.ts for why each container gets one fixed port).
 */

export interface PortRange {
  low: number;
  high: number;
}

/** BOUY_HEALTH_PORTS, `LOW-HIGH` or one port (default 8080-8089): one port per worker container. */
export function healthPortRange(env: Env): PortRange {
  const value = env.BOUY_HEALTH_PORTS ?? '8080-8089';
  const range = portRange(value, true);
  if (range === undefined) {
    throw new BouyError('BOUY_ERR_USAGE', `BOUY_HEALTH_PORTS=${JSON.stringify(value)} is not valid: LOW-HIGH host ports, e.g. 8080-8089`);
  }
  return { low: range[0], high: range[1] };
}

/** A worker container and the host port its health is published on (undefined: none fixed). */
export interface WorkerContainer {
  id: string;
  number: number;
  port: number | undefined;
}

/** The lowest port of the range that no container holds. */
export function nextPort(range: PortRange, containers: readonly WorkerContainer[]): number | undefined {
  const held = new Set(containers.map((c) => c.port));
  for (let port = range.low; port <= range.high; port++) if (!held.has(port)) return port;
  return undefined;
}

/** Going down to `count`: keep the containers on the lowest ports (8080 first), remove the rest. */
export function keepLowest(containers: readonly WorkerContainer[], count: number): { keep: WorkerContainer[]; remove: WorkerContainer[] } {
  const order = [...containers].sort((a, b) => (a.port ?? Infinity) - (b.port ?? Infinity) || a.number - b.number);
  return { keep: order.slice(0, count), remove: order.slice(count) };
}

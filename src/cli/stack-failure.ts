import type { Context } from './context.js';
import { dockerBin, type ContainerInfo } from './docker.js';
import { capture } from './process.js';

/** States of a container that is expected to run but does not (`docker ps -a` says which). */
const DOWN_STATES = new Set(['exited', 'dead', 'restarting', 'created', 'paused']);
const LAST_LINES = 12;

/** Whether a container that should run is down: not running, or restarted since `baseline` counted. */
export function isDown(container: ContainerInfo, baseline?: ReadonlyMap<string, number>): boolean {
  if (DOWN_STATES.has(container.state)) return true;
  return baseline !== undefined && container.restarts > (baseline.get(container.id) ?? 0);
}

/** What went wrong with a container, in a few words: "exited (exit 64)", "restarting (exit 64, 3 restarts)". */
export function describeDown(container: ContainerInfo): string {
  const restarts = container.restarts > 0 ? `${container.restarts} restart${container.restarts === 1 ? '' : 's'}` : '';
  if (container.state === 'running') return `running again after ${restarts}`;
  return `${container.state} (exit ${container.exitCode}${restarts ? `, ${restarts}` : ''})`;
}

/** The last lines a container wrote (its errors first: stderr, else stdout). */
export async function lastLines(ctx: Context, container: ContainerInfo): Promise<string[]> {
  const logs = await capture(dockerBin(ctx.env), ['logs', '--tail', String(LAST_LINES * 4), container.id], ctx.env);
  const pick = (text: string) => text.split('\n').map((l) => l.trimEnd()).filter(Boolean).slice(-LAST_LINES);
  const errors = pick(logs.stderr);
  return errors.length > 0 ? errors : pick(logs.stdout);
}

/**
 * What `up` says when a worker container went down while it waited (it then exits 1, a check
 * that failed, as `health` does): which one, how, its last lines, and what to do.
 */
export async function describeStackFailure(ctx: Context, down: readonly ContainerInfo[]): Promise<string> {
  const parts = await Promise.all(down.map(async (c) => {
    const lines = await lastLines(ctx, c);
    return `${c.name} ${describeDown(c)}${lines.length > 0 ? `; its last lines:\n${lines.map((l) => `    ${l}`).join('\n')}` : ''}`;
  }));
  return `a worker container went down while up waited for it: ${parts.join('\n')}\n  hint: fix what the lines above say (a setting in .env or the shell), then up again; \`bouy logs worker\` has the rest`;
}

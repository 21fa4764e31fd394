import type { Redis } from 'ioredis';

/** Calls per command as Redis has counted them so far (INFO commandstats; a script's commands included). */
export async function commandCalls(client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** Calls per command between two readings, the readings' own INFO left out. */
export function callsBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [name, calls] of after) if (name !== 'info' && calls > (before.get(name) ?? 0)) delta.set(name, calls - (before.get(name) ?? 0));
  return delta;
}

export const sumOf = (calls: Map<string, number>) => [...calls.values()].reduce((a, b) => a + b, 0);

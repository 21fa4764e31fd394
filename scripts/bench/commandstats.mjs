// Redis's own count of the commands it ran (INFO commandstats): calls and microseconds per
// command, commands run inside Lua scripts included. Exact, whatever the machine's load, so the
// figures built on it (commands per job, commands per second at rest) need no repetitions.

/** { command: { calls, usec } } as Redis has counted them since it started. */
export async function commandStats(client) {
  const info = await client.info('commandstats');
  const stats = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  return stats;
}

/** What ran between two readings, per command (commands with no new calls left out). */
export function commandsBetween(before, after) {
  const delta = {};
  for (const [name, { calls, usec }] of Object.entries(after)) {
    const calls0 = before[name]?.calls ?? 0;
    if (calls > calls0) delta[name] = { calls: calls - calls0, usec: usec - (before[name]?.usec ?? 0) };
  }
  return delta;
}

export const totalCalls = (delta) => Object.values(delta).reduce((sum, { calls }) => sum + calls, 0);

/** Bytes Redis has read from and written to its clients so far (INFO stats). */
export async function networkBytes(client) {
  const info = await client.info('stats');
  const field = (name) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { input: field('total_net_input_bytes'), output: field('total_net_output_bytes') };
}

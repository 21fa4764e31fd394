/** Every Redis key of the fleet page's data, under BOUY_PREFIX, built in one place. */
export function fleetKeys(prefix: string) {
  return {
    /** ZSET: host → when its supervisor last published a snapshot (ms). */
    snapshots: `${prefix}:fleet:snapshots`,
    /** STRING with an expiry: one supervisor's snapshot (JSON); gone when it stops beating. */
    snapshot: (host: string) => `${prefix}:fleet:snapshot:${host}`,
    /** LIST, newest first, capped: recent events of the whole fleet (JSON). */
    events: `${prefix}:fleet:events`,
    /** LIST with an expiry: commands for one host's supervisor (JSON), oldest first. */
    commands: (host: string) => `${prefix}:fleet:commands:${host}`,
  };
}

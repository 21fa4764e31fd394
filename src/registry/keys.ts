/** Every Redis key of bouy's worker registry, built in one place. */
export function registryKeys(prefix: string) {
  return {
    /** ZSET: worker name → time of its last heartbeat (ms). */
    index: `${prefix}:workers`,
    /** HASH: one worker's registration, with `bull:<queue>` → the id of its BullMQ Worker. */
    worker: (name: string) => `${prefix}:worker:${name}`,
    /** STRING, SET NX PX: the fleet's dead-peer sweep token; whoever sets it judges this tick. */
    sweep: `${prefix}:workers:sweep`,
    /** STRING, SET NX PX: held by the one supervisor returning dead peers' jobs. */
    reclaimLock: `${prefix}:workers:reclaim-lock`,
    /** HASH: host → its supervisor's presence (configuration fingerprint, version, when; fleet.ts). */
    fleet: `${prefix}:fleet`,
    /** STRING with an expiry: which supervisor run holds a BOUY_HOSTNAME (hostname-claim.ts). */
    host: (hostname: string) => `${prefix}:host:${hostname}`,
  };
}

/** Registration field prefix: `bull:<queue>` holds the BullMQ worker id (its locks' prefix). */
export const BULL_WORKER_FIELD = 'bull:';

/** Worker names are `worker-<hostname>-<index>`, the only place the format is spelled. */
export function workerName(hostname: string, index: number | string): string {
  return `worker-${hostname}-${index}`;
}

/** A Redis glob (ZSCAN MATCH) for every worker name of `hostname`, its glob characters escaped. */
export function workerNamePattern(hostname: string): string {
  return workerName(hostname.replace(/[*?[\]\\]/g, '\\$&'), '*');
}

/**
 * The BullMQ worker that holds a lock, from the lock's token (`<worker id>:<n>`): how the jobs
 * of a dead worker are found by the ids in its registration.
 */
export function lockOwner(token: string): string {
  return token.slice(0, token.lastIndexOf(':'));
}

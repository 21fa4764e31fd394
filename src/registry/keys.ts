/** Every Redis key of bouy's worker registry, built in one place. */
export function registryKeys(prefix: string) {
  return {
    /** ZSET: worker name → time of its last heartbeat (ms). */
    index: `${prefix}:workers`,
    /** HASH: one worker's registration, with `bull:<queue>` → the id of its BullMQ Worker. */
    worker: (name: string) => `${prefix}:worker:${name}`,
  };
}

/** Registration field prefix: `bull:<queue>` holds the BullMQ worker id (its locks' prefix). */
export const BULL_WORKER_FIELD = 'bull:';

/** Worker names are `worker-<hostname>-<index>`. */
export function workerName(hostname: string, index: number): string {
  return `worker-${hostname}-${index}`;
}

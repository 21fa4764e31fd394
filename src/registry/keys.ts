/** Every Redis key of bouy's worker registry, built in one place. */
export function registryKeys(prefix: string) {
  return {
    /** ZSET: worker name → time of its last heartbeat (ms). */
    index: `${prefix}:workers`,
    /** HASH: one worker's registration, and its active jobs as `job:<queue>:<id>` → lock token. */
    worker: (name: string) => `${prefix}:worker:${name}`,
  };
}

export const JOB_FIELD = 'job:';

/** Worker names are `worker-<hostname>-<index>`. */
export function workerName(hostname: string, index: number): string {
  return `worker-${hostname}-${index}`;
}

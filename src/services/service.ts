/** A role the one image can play, chosen by the entrypoint's first argument or SERVICE_TYPE. */
export interface Service {
  readonly description: string;
  /** Runs until the service is told to stop; resolves to the process exit code. */
  run(args: readonly string[]): Promise<number>;
}

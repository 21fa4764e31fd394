import type { Logger } from '../log.js';

/** What a singleton service gets when it is started on the leader. */
export interface LeaderContext {
  /** Grows with every acquisition of the lease: tag writes with it (see LeaderElection). */
  readonly fencingToken: number;
  /** Aborted as soon as this leadership ends (demotion or stop). */
  readonly signal: AbortSignal;
  /**
   * True while this very leadership lasts (same token, lease deadline not passed). Call it
   * right before each side effect: a paused process learns here, on waking, that it lost.
   */
  stillLeader: () => boolean;
}

/** Stops what a start started; awaited before the lease is released on shutdown. */
export type SingletonStop = () => void | Promise<void>;
export type SingletonStart = (context: LeaderContext) => SingletonStop | Promise<SingletonStop>;

/**
 * One singleton service's life on one process: started on each election, stopped on each
 * demotion. Transitions run one after another on a promise chain, so a demotion that comes
 * while the start is still running stops it as soon as it has started, and a re-election
 * waits for the previous stop.
 */
export class SingletonTask {
  private chain: Promise<void> = Promise.resolve();
  private running: { stop: SingletonStop; abort: AbortController } | undefined;

  constructor(
    readonly name: string,
    private readonly start: SingletonStart,
    private readonly log: Logger,
  ) {}

  elected(token: number, stillLeader: () => boolean): void {
    this.chain = this.chain.then(async () => {
      if (this.running || !stillLeader()) return;
      const abort = new AbortController();
      try {
        const stop = await this.start({ fencingToken: token, signal: abort.signal, stillLeader });
        this.running = { stop, abort };
        this.log.info({ singleton: this.name, fencing_token: token }, `singleton ${this.name} started on this leader`);
      } catch (error) {
        this.log.error({ singleton: this.name, err: error }, `singleton ${this.name} failed to start; it runs again on the next election`);
      }
      // Demoted while starting: the demotion queued behind us stops it next.
    });
  }

  demoted(): void {
    this.running?.abort.abort();
    this.chain = this.chain.then(async () => {
      const running = this.running;
      this.running = undefined;
      if (!running) return;
      running.abort.abort();
      try {
        await running.stop();
        this.log.info({ singleton: this.name }, `singleton ${this.name} stopped`);
      } catch (error) {
        this.log.error({ singleton: this.name, err: error }, `singleton ${this.name} failed to stop cleanly`);
      }
    });
  }

  /** Resolves when every queued start/stop has run. */
  idle(): Promise<void> {
    return this.chain;
  }
}

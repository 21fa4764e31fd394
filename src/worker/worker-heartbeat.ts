import type { WorkerMessage } from '../ipc.js';
import type { RedisClient } from '../redis.js';
import type { RegistrationState } from '../registry/worker-registration.js';
import { RedisReach } from './redis-reach.js';

/**
 * A worker's heartbeat, every HEARTBEAT_SECONDS over IPC: proof that its event loop turns (the
 * hang watchdog), what its registration shows, and how long its own connections have been down
 * (RedisReach). Its supervisor writes every worker's heartbeat in one round trip
 * (registry/container-heartbeat.ts): a worker sends Redis nothing at rest but BullMQ's fetches.
 */
export class WorkerHeartbeat {
  private readonly reach = new RedisReach();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly everyMs: number,
    private readonly state: () => RegistrationState,
    private readonly send: (message: WorkerMessage) => void,
    /** Runs with every beat (the memory check). */
    private readonly onBeat: () => void,
  ) {}

  /** A connection of this worker's whose being down its heartbeat must tell. */
  watch(connection: RedisClient): void {
    this.reach.watch(connection);
  }

  start(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.everyMs);
    this.timer.unref();
  }

  /** Now, besides the timer's: a new state (quiet, draining) is shown at once. */
  beat(): void {
    this.send({ type: 'alive', ...this.state(), redisDownMs: this.reach.downMs() });
    this.onBeat();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

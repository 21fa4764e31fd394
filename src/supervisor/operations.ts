import { MAX_WORKERS, type Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { workerName } from '../registry/keys.js';
import type { RecycleReason, SupervisorMessage } from '../ipc.js';
import { decideRecycle } from './recycle-policy.js';
import { newSlot, type Slot } from './slot.js';
import { draining, quieted } from './slot-lifecycle.js';

/** What the operator actions need of the supervisor. */
export interface PoolInternals {
  /** The supervisor's own list: slots are added to and removed from it in place. */
  slots: Slot[];
  config: Config;
  log: Logger;
  stopping(): boolean;
  spawn(slot: Slot): void;
  send(slot: Slot, message: SupervisorMessage): void;
}

/**
 * What an operator (or a recycle limit) asks of a running pool: recycle one worker or all of
 * them, and change how many there are — Gunicorn's HUP, TTIN and TTOU. Every change drains the
 * worker it replaces or removes; none cuts a job off.
 */
export class PoolOperations {
  private quietSince: number | undefined;
  /** A size asked for that the process cap held back: grown to as removed workers exit. */
  private wanted: number | undefined;

  constructor(private readonly pool: PoolInternals) {}

  get isQuiet(): boolean {
    return this.quietSince !== undefined;
  }

  /**
   * Sidekiq's TSTP: every worker stops fetching and finishes what it runs; the supervisor stays
   * up, reporting quiet (readiness fails, liveness holds) until shutdown, so a deploy can empty
   * a container before stopping it. Replacements of crashed or recycled workers start quiet.
   * False when already quiet or stopping.
   */
  quiet(reason: string): boolean {
    if (this.isQuiet || this.pool.stopping()) return false;
    this.quietSince = Date.now();
    this.pool.log.info({ reason, active: this.pool.slots.reduce((n, s) => n + s.running.size, 0) }, 'quiet: taking no new jobs; running ones finish; stays up until SIGTERM');
    for (const slot of this.pool.slots) {
      quieted(slot);
      this.pool.send(slot, { type: 'quiet' });
    }
    return true;
  }

  /** A worker past a recycle limit asks to go: drained, unless the recycle could only loop. */
  recycleRequested(slot: Slot, reason: RecycleReason, jobsDone: number, rssMb: number): void {
    const decision = decideRecycle(reason, jobsDone, rssMb, this.pool.config.maxMemoryMb);
    if (!decision.recycle) {
      slot.recycleRefused = decision.why;
      this.pool.log.error({ worker: slot.name, reason, rss_mb: rssMb }, `recycle refused: ${decision.why}`);
      return;
    }
    this.recycleSlot(slot, reason, { jobs_done: jobsDone, rss_mb: rssMb });
  }

  /** Drains one worker; the supervisor refills its slot at once when it has exited. */
  recycleSlot(slot: Slot, reason: RecycleReason, fields: Record<string, unknown> = {}): boolean {
    if (!slot.child || slot.departure || this.pool.stopping()) return false;
    draining(slot, { kind: 'recycle', reason });
    this.pool.log.info({ worker: slot.name, reason, ...fields }, `recycling worker (${reason}): finishing its active jobs first`);
    this.pool.send(slot, { type: 'drain' });
    return true;
  }

  /**
   * Recycles one worker (by index) or all of them. All is rolling: the next worker is recycled
   * only once the previous slot's replacement is ready, so capacity never drops by more than one.
   */
  async recycle(target: number | 'all'): Promise<string[]> {
    const slots = target === 'all' ? [...this.pool.slots] : this.pool.slots.filter((s) => s.index === target);
    const recycled: string[] = [];
    for (const slot of slots) {
      if (!this.recycleSlot(slot, 'manual')) continue;
      recycled.push(slot.name);
      if (target === 'all') await this.untilReady(slot);
    }
    return recycled;
  }

  /**
   * Changes the number of workers at run time. Growing forks new slots in the lowest free
   * indexes; shrinking drains the highest-numbered ones. Never more than MAX_WORKERS processes
   * at once: a worker being removed is one until it exits (it finishes its jobs first), so a
   * growth beyond what is free waits, and goes on as they exit (removedSlotExited). Returns the
   * number it will run.
   */
  scaleTo(count: number): number {
    const target = Math.max(1, Math.min(MAX_WORKERS, Math.round(count)));
    const staying = this.staying();
    this.wanted = undefined;
    if (this.pool.stopping() || target === staying.length) return staying.length;
    if (target > staying.length) {
      const free = MAX_WORKERS - this.pool.slots.length;
      if (target - staying.length > free) {
        this.wanted = target;
        this.pool.log.info({ workers: target, now: staying.length, leaving: this.pool.slots.length - staying.length }, `scaling to ${target} worker(s) as the workers being removed exit (at most ${MAX_WORKERS} processes)`);
      }
      for (const index of freeIndexes(this.pool.slots.map((s) => s.index), Math.min(free, target - staying.length))) {
        const slot = newSlot(index, workerName(this.pool.config.hostname, index));
        this.pool.slots.push(slot);
        this.pool.slots.sort((a, b) => a.index - b.index);
        this.pool.spawn(slot);
      }
    } else {
      for (const slot of staying.slice(target).reverse()) this.removeSlot(slot);
    }
    this.pool.log.info({ workers: target }, `scaling to ${target} worker(s)`);
    return target;
  }

  /** A removed worker exited (its slot is gone): a size held back by the cap grows on. */
  removedSlotExited(): void {
    if (this.wanted !== undefined) this.scaleTo(this.wanted);
  }

  /** One more (+1) or one fewer (-1) worker than now, ignoring slots already being removed. */
  scaleBy(change: number): number {
    return this.scaleTo(this.staying().length + change);
  }

  private staying(): Slot[] {
    return this.pool.slots.filter((s) => s.departure?.kind !== 'remove');
  }

  private removeSlot(slot: Slot): void {
    clearTimeout(slot.restartTimer);
    if (!slot.child) {
      this.pool.slots.splice(this.pool.slots.indexOf(slot), 1);
      return;
    }
    draining(slot, { kind: 'remove' });
    this.pool.send(slot, { type: 'drain' });
  }

  private untilReady(slot: Slot): Promise<void> {
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        const gone = !this.pool.slots.includes(slot) || this.pool.stopping();
        if (gone || ((slot.state === 'ready' || slot.state === 'quiet') && !slot.departure)) {
          clearInterval(timer);
          resolve();
        }
      }, 50);
    });
  }
}

/** The `count` lowest indexes (from 1) not in `used`: a new worker takes the first gap. */
export function freeIndexes(used: readonly number[], count: number): number[] {
  const taken = new Set(used);
  const free: number[] = [];
  for (let index = 1; free.length < count; index += 1) if (!taken.has(index)) free.push(index);
  return free;
}

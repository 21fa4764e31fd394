import type { Slot } from './slot.js';

/**
 * The supervisor's slots, in index order: the one place slots are added and removed. The
 * Supervisor owns it; operations.ts grows and shrinks it; everything outside the pool reads
 * workers through WorkerPool (pool.ts), never the slots.
 */
export class SlotTable {
  private readonly list: Slot[];

  constructor(slots: readonly Slot[]) {
    this.list = [...slots].sort((a, b) => a.index - b.index);
  }

  all(): readonly Slot[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  /** The slots not being removed: the pool's size as it was asked for. */
  staying(): Slot[] {
    return this.list.filter((s) => s.departure?.kind !== 'remove');
  }

  has(slot: Slot): boolean {
    return this.list.includes(slot);
  }

  byName(name: string): Slot | undefined {
    return this.list.find((s) => s.name === name);
  }

  add(slot: Slot): void {
    this.list.push(slot);
    this.list.sort((a, b) => a.index - b.index);
  }

  remove(slot: Slot): void {
    const at = this.list.indexOf(slot);
    if (at >= 0) this.list.splice(at, 1);
  }
}

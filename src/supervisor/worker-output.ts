import type { ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { DestinationStream } from 'pino';
import type { Logger } from '../log.js';
import type { Slot } from './slot.js';
import { StartupBlock } from './startup-blocks.js';

/**
 * Relays each worker's log lines to the supervisor's output, whole lines only (lines of
 * different workers never mix mid-line), holding a starting worker's lines as one block until
 * it is ready (startup-blocks.ts). The worker's stderr — a native crash, a module printing — becomes a
 * JSON line of ours, so the output stays one object per line.
 */
export class WorkerOutput {
  private readonly blocks = new Map<Slot, StartupBlock>();

  constructor(private readonly output: DestinationStream, private readonly log: Logger, private readonly onBlockReleased: (slot: Slot) => void) {}

  attach(slot: Slot, child: ChildProcess): void {
    const block = new StartupBlock((lines) => {
      this.log.info({ worker: slot.name, pid: slot.pid }, 'worker process started');
      for (const line of lines) this.output.write(`${line}\n`);
      this.onBlockReleased(slot);
    });
    this.blocks.set(slot, block);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!block.hold(line)) this.output.write(`${line}\n`);
    });
    readline.createInterface({ input: child.stderr! }).on('line', (line) => this.log.warn({ worker: slot.name, stderr: line }, 'worker stderr'));
  }

  /** The worker reported ready after writing `lines` lines: its block goes out once they arrived. */
  ready(slot: Slot, lines: number): void {
    this.blocks.get(slot)?.ready(lines);
  }

  /** The worker is gone: whatever it said before dying is shown. */
  detach(slot: Slot): void {
    this.blocks.get(slot)?.flush();
    this.blocks.delete(slot);
  }
}

/**
 * Holds a starting worker's log lines until it is ready, then lets them out as one block, so
 * the start-up of N workers reads as N stories instead of one braid. The worker
 * says how many lines it wrote before "ready"; the block is released once that many arrived,
 * because its stdout and its IPC message travel on different pipes.
 */
export class StartupBlock {
  private lines: string[] | undefined = [];
  private expected: number | undefined;

  constructor(private readonly release: (lines: string[]) => void) {}

  get open(): boolean {
    return this.lines !== undefined;
  }

  /** Returns false when the block is released and the line should be written straight out. */
  hold(line: string): boolean {
    if (!this.lines) return false;
    this.lines.push(line);
    this.maybeRelease();
    return true;
  }

  /** The worker reported ready after writing `lineCount` lines. */
  ready(lineCount: number): void {
    this.expected = lineCount;
    this.maybeRelease();
  }

  /** The worker died before ready: show what it said. */
  flush(): void {
    if (this.lines) this.emit();
  }

  private maybeRelease(): void {
    if (this.lines && this.expected !== undefined && this.lines.length >= this.expected) this.emit();
  }

  private emit(): void {
    const lines = this.lines ?? [];
    this.lines = undefined;
    this.release(lines);
  }
}

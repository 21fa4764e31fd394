/**
 * Everything the CLI prints goes through here, so --json, --quiet, --verbose and --no-color
 * mean the same on every command: results on stdout (one JSON document with --json),
 * progress and diagnostics on stderr.
 */
import { stripVTControlCharacters } from 'node:util';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export type Style = keyof typeof CODES;

export class Output {
  constructor(
    readonly options: OutputOptions,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  paint(style: Style, text: string): string {
    return this.options.color ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text;
  }

  /** Progress a person wants to see ("building the image…"); silent with --quiet or --json. */
  info(message: string): void {
    if (!this.options.quiet && !this.options.json) this.stderr.write(`bouy: ${message}\n`);
  }

  /** What is being run and why; only with --verbose. */
  debug(message: string): void {
    if (this.options.verbose) this.stderr.write(this.paint('dim', `bouy: ${message}`) + '\n');
  }

  warn(message: string): void {
    this.stderr.write(this.paint('yellow', `bouy: ${message}`) + '\n');
  }

  error(message: string): void {
    this.stderr.write(this.paint('red', `bouy: ${message}`) + '\n');
  }

  /** A command's result: `data` as JSON with --json, else the human text (unless --quiet). */
  result(data: unknown, human: () => string): void {
    if (this.options.json) this.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    else if (!this.options.quiet) {
      const text = human();
      if (text) this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }
}

/** A plain-text table with padded columns; colour codes are not counted in the width. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const visible = (s: string) => stripVTControlCharacters(s).length;
  const widths = headers.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visible(c)))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}

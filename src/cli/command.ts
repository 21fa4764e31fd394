import type { Argv } from 'yargs';
import type { Context } from './context.js';

export type Args = Record<string, unknown> & { _: Array<string | number> };

/** One `bouy` command: its yargs definition and what it does. Resolves to the exit status. */
export interface BouyCommand {
  command: string;
  describe: string;
  builder(yargs: Argv): Argv;
  run(ctx: Context, args: Args): Promise<number>;
}

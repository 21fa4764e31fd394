import type { Argv } from 'yargs';
import type { Context, GlobalArgs } from './context.js';

export type Args = Record<string, unknown> & { _: Array<string | number> };

/** One `bouy` command: its yargs definition and what it does. Resolves to the exit status. */
export interface BouyCommand {
  command: string;
  describe: string;
  builder: (yargs: Argv) => Argv;
  run(ctx: Context, args: Args): Promise<number>;
  /**
   * The compose arguments the command runs, for commands that are one compose call; pure, so
   * what `./bouy logs worker` would run is testable without an engine.
   */
  composeArgs?(args: Args, globals: GlobalArgs): string[];
  /**
   * Everything after the first positional (exec's service) belongs to the command run there,
   * options included: it is cut from argv before yargs sees it and handed over as `args.rest`.
   */
  passthrough?: boolean;
}

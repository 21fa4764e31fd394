import { readFileSync } from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { BouyError, EXIT } from '../errors.js';
import type { Args, BouyCommand } from './command.js';
import { build } from './commands/build.js';
import { deploy, undeploy } from './commands/deploy.js';
import { clean, down } from './commands/down.js';
import { enqueue } from './commands/enqueue.js';
import { exec, shell } from './commands/exec.js';
import { health } from './commands/health.js';
import { init } from './commands/init.js';
import { logs } from './commands/logs.js';
import { pool } from './commands/pool.js';
import { ps } from './commands/ps.js';
import { setup } from './commands/setup.js';
import { test } from './commands/test.js';
import { scale, up } from './commands/up.js';
import { workers } from './commands/workers.js';
import { quiet, recycle, resize } from './commands/signal-workers.js';
import { Context, type GlobalArgs } from './context.js';
import { Output } from './output.js';
import { DEFAULT_PROJECT } from './project.js';
import type { Env } from './process.js';
import { PACKAGE_ROOT } from './package-root.js';

export const COMMANDS: readonly BouyCommand[] = [up, down, clean, ps, logs, exec, shell, scale, pool, resize, recycle, quiet, build, health, workers, enqueue, deploy, undeploy, test, setup, init];


function version(): string {
  try {
    return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Options that take a value as the next word (so that word is not a command or service). */
const VALUE_OPTIONS = new Set(['-p', '--project']);

/**
 * For a passthrough command (`exec <service> …`): argv up to and including the service, and
 * the rest — the command to run there, its options included (`--redis-url …` is not bouy's).
 * A `--` right after the service is dropped (the older spelling `exec worker -- env`).
 */
export function splitPassthrough(argv: readonly string[], commands: readonly BouyCommand[] = COMMANDS): { argv: string[]; rest: string[] | undefined } {
  const positions: number[] = [];
  for (let i = 0; i < argv.length && positions.length < 2; i++) {
    const word = argv[i]!;
    if (word === '--') break;
    if (word.startsWith('-')) {
      if (VALUE_OPTIONS.has(word)) i++;
      continue;
    }
    positions.push(i);
  }
  const [commandAt, serviceAt] = positions;
  const command = commandAt === undefined ? undefined : commands.find((c) => c.command.split(' ')[0] === argv[commandAt]);
  if (!command?.passthrough || serviceAt === undefined) return { argv: [...argv], rest: undefined };
  const rest = argv.slice(serviceAt + 1);
  return { argv: argv.slice(0, serviceAt + 1), rest: rest[0] === '--' ? rest.slice(1) : rest };
}

/** A parsed command line: the command, its arguments and the global options. */
export interface Parsed {
  command: BouyCommand;
  args: Args;
  globals: GlobalArgs;
}

/**
 * Parses argv; resolves to the command to run, or undefined when yargs answered by itself
 * (--help, --version). Unknown commands and options, missing arguments and conflicting flags
 * are usage errors (64) with a message saying which.
 */
export async function parseCli(argv: readonly string[], env: Env, _root: string, isTty: boolean): Promise<Parsed | undefined> {
  let parsed: Parsed | undefined;
  const split = splitPassthrough(argv);
  const first = argv.find((a) => !a.startsWith('-'));
  const names = COMMANDS.map((c) => c.command.split(' ')[0]!);
  // yargs reports an unknown command as an "unknown argument"; say what it is and what exists.
  if (first !== undefined && argv.indexOf(first) === 0 && !names.includes(first)) {
    throw new BouyError('BOUY_ERR_USAGE', `unknown command ${JSON.stringify(first)}: one of ${names.join(', ')}`, { hint: 'see bouy --help' });
  }
  const parser = yargs(split.argv)
    .scriptName('bouy')
    .usage('$0 <command> [options]\n\nDrive the bouy stack (Redis + worker containers) through Docker Compose, or deploy it to Docker Swarm.\nSettings come from the environment, then .env; an inline VAR=value wins.')
    .options({
      json: { type: 'boolean', default: false, global: true, describe: 'machine-readable output (one JSON document on stdout)' },
      quiet: { alias: 'q', type: 'boolean', default: false, global: true, describe: 'only results and errors' },
      // No -v: `down -v` drops the volumes, as in `docker compose down -v`.
      verbose: { type: 'boolean', default: false, global: true, describe: 'say which docker/compose commands run' },
      color: { type: 'boolean', default: isTty && env.NO_COLOR === undefined, global: true, describe: 'colour (--no-color: none)', defaultDescription: 'on a terminal' },
      project: { alias: 'p', type: 'string', default: env.COMPOSE_PROJECT_NAME ?? DEFAULT_PROJECT, global: true, describe: 'compose project name', defaultDescription: 'COMPOSE_PROJECT_NAME or bouy' },
      dev: { type: 'boolean', default: false, global: true, describe: 'development overlay (default for a new stack: src mounted, rebuilt on change)' },
      prod: { type: 'boolean', default: false, global: true, describe: 'production overlay' },
      test: { type: 'boolean', default: false, global: true, describe: 'test overlay' },
    })
    .check((args) => {
      // yargs' conflicts() counts a default `false` as given, so exclusive flags are checked here.
      const modes = (['dev', 'prod', 'test'] as const).filter((m) => args[m]);
      if (modes.length > 1) throw new BouyError('BOUY_ERR_USAGE', `--${modes.join(' and --')} exclude each other: pick one overlay`);
      if (args.quiet && args.verbose) throw new BouyError('BOUY_ERR_USAGE', '--quiet and --verbose exclude each other');
      if (typeof args.project !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(args.project)) {
        throw new BouyError('BOUY_ERR_USAGE', `--project ${JSON.stringify(args.project)} is not valid: lowercase letters, digits, _ and -`);
      }
      return true;
    })
    .strict()
    .demandCommand(1, 'name a command (bouy --help lists them)')
    .recommendCommands()
    .version(version())
    .help()
    .alias('help', 'h')
    .epilogue('Exit status: 0 ok, 1 a check failed or a command it ran failed, 64 bad usage, 69 Docker/stack/Redis unavailable.')
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      throw new BouyError('BOUY_ERR_USAGE', message, { hint: 'see bouy --help, or bouy <command> --help' });
    });
  for (const cmd of COMMANDS) {
    parser.command(cmd.command, cmd.describe, cmd.builder, (args) => {
      if (cmd.passthrough && (split.rest === undefined || split.rest.length === 0)) {
        throw new BouyError('BOUY_ERR_USAGE', `${cmd.command.split(' ')[0]}: name the command to run, e.g. ./bouy exec worker env`);
      }
      const all = (cmd.passthrough ? { ...args, rest: split.rest } : args) as unknown as Args;
      parsed = { command: cmd, args: all, globals: args as unknown as GlobalArgs };
    });
  }
  await parser.parseAsync();
  return parsed;
}

/** Parses argv and runs the command; resolves to the exit status. */
export async function runCli(argv: readonly string[], env: Env, root: string, isTty: boolean): Promise<number> {
  const parsed = await parseCli(argv, env, root, isTty);
  if (!parsed) return EXIT.ok;
  const { json, quiet, verbose, color } = parsed.globals;
  return parsed.command.run(new Context(root, env, new Output({ json, quiet, verbose, color }), parsed.globals, argv), parsed.args);
}

/** The compose arguments a one-compose-call command line would run (see BouyCommand.composeArgs). */
export async function composePlan(argv: readonly string[], env: Env, root: string): Promise<string[]> {
  const parsed = await parseCli(argv, env, root, false);
  if (!parsed?.command.composeArgs) throw new Error(`${argv.join(' ')}: not a one-compose-call command`);
  return parsed.command.composeArgs(parsed.args, parsed.globals);
}

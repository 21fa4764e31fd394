#!/usr/bin/env node
/**
 * `bouy`, the command line (the top-level `./bouy` launcher runs this). The one place that
 * turns errors into exit statuses.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError, exitCodeOf } from '../errors.js';
import { envFile, mergeDotenv } from './dotenv.js';
import { runCli } from './parser.js';

/** The checkout (or /app in the image): dist/cli/main.js is two levels below it. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const env = mergeDotenv(envFile(ROOT, process.env), process.env);
    return await runCli(argv, env, ROOT, Boolean(process.stdout.isTTY));
  } catch (error) {
    process.stderr.write(`bouy: ${describeError(error)}\n`);
    return exitCodeOf(error);
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

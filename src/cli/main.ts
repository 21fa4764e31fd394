#!/usr/bin/env node
/**
 * `bouy`, the command line (the top-level `./bouy` launcher runs this). The one place that
 * turns errors into exit statuses.
 */
import { describeError, exitCodeOf } from '../errors.js';
import { envFile, mergeDotenv } from './dotenv.js';
import { runCli } from './parser.js';
import { findProjectDir } from './project.js';
import { applyPassedSettings } from '../config/passed-settings.js';
import { PACKAGE_ROOT } from './package-root.js';


export async function main(argv: readonly string[]): Promise<number> {
  try {
    // Inside a container of the stack (`docker exec … bouy enqueue`), the settings as the services see them.
    applyPassedSettings(process.env);
    // The application's folder when run from it (npx bouy), else bouy's own checkout.
    const root = findProjectDir(process.cwd(), process.env, PACKAGE_ROOT);
    const env = mergeDotenv(envFile(root, process.env), process.env);
    return await runCli(argv, env, root, Boolean(process.stdout.isTTY));
  } catch (error) {
    process.stderr.write(`bouy: ${describeError(error)}\n`);
    return exitCodeOf(error);
  }
}

// main() catches every error itself and resolves to the exit status: this promise never rejects.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

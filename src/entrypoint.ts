#!/usr/bin/env node
/**
 * The image's entrypoint: `node dist/entrypoint.js <service> [args…]`. The service is the first
 * argument, else SERVICE_TYPE, else `worker`. A first argument that is no service but a
 * command on PATH runs in its place (`docker run IMAGE bash`). This is the one place that turns
 * errors into exit codes.
 */
import module from 'node:module';
import { applyPassedSettings } from './config/passed-settings.js';
import { describeError, EXIT, exitCodeOf, BouyError } from './errors.js';
import { runCommand, findOnPath } from './passthrough.js';
import { SERVICES, serviceNames } from './services/index.js';

/**
 * Node ≥ 22.1 (the image's Node 24; not the Node 20 that engines allows, where this does
 * nothing): V8's code cache on disk (os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE),
 * so a module compiled once is not compiled again by the next process that loads it. Enabled
 * before the service is imported (its modules are the heavy part), and passed on through the
 * environment to the processes the service starts: the supervisor's workers, their restarts and
 * recycles. Best effort by design: it never throws, and a cache it cannot write is no cache.
 */
function enableCompileCache(env: NodeJS.ProcessEnv): void {
  const enable = (module as { enableCompileCache?: () => { directory?: string } }).enableCompileCache;
  const directory = enable?.().directory;
  if (directory !== undefined) env.NODE_COMPILE_CACHE ??= directory;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // Before anything reads a setting: the compose files' BOUY_SET_* (see passed-settings.ts).
  applyPassedSettings(env);
  enableCompileCache(env);
  const [first, ...rest] = argv;
  const name = first ?? env.SERVICE_TYPE?.trim() ?? 'worker';
  const load = SERVICES[name];
  // The worker service's first workers load their modules while the supervisor loads its own.
  if (load && name === 'worker') (await import('./supervisor/prefork.js')).preforkWorkers();
  if (load) return (await load()).run(rest);
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`usage: entrypoint <service> | <command> [args…]\nservices: ${serviceNames().join(', ')}\n`);
    return EXIT.ok;
  }
  const command = first !== undefined ? findOnPath(name) : undefined;
  if (command) return runCommand(command, rest);
  throw new BouyError('BOUY_ERR_UNKNOWN_SERVICE', `unknown service ${JSON.stringify(name)}${first === undefined ? ' (from SERVICE_TYPE)' : ''}: not a service and not a command on PATH`, {
    hint: `use one of: ${serviceNames().join(', ')}; or a command such as bash`,
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bouy: ${describeError(error)}\n`);
    process.exit(exitCodeOf(error));
  },
);

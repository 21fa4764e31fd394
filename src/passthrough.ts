import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { constants as os } from 'node:os';

/** The executable `name` resolves to on PATH (or as a path), if any. */
export function findOnPath(name: string, pathVar = process.env.PATH ?? ''): string | undefined {
  const candidates = name.includes('/') ? [name] : pathVar.split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Runs a command in place of a service, forwarding stop signals to it, and resolves to its
 * exit status the way a shell reports it (128 + signal number when it was killed).
 */
export function runCommand(file: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
    signals.forEach((s) => process.on(s, forward));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      signals.forEach((s) => process.off(s, forward));
      resolve(signal ? 128 + (os.signals[signal] ?? 0) : (code ?? 1));
    });
  });
}

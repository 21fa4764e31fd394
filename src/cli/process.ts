import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The exit status a shell would report: the code, or 128 + the signal's number. */
function shellStatus(code: number | null, signal: NodeJS.Signals | null): number {
  return signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1);
}

/**
 * Runs a command and collects its output; a missing executable is code 127, as in a shell.
 *
 * Not zx, though zx is a dependency (the scripts use it): importing it costs ~130 ms on this
 * 2-core machine at load 3 (126–161 ms, three runs), and it runs every command through bash. A
 * `./bouy ps` or `health` makes several docker calls, each a direct spawn here; the CLI's
 * latency is the operator's, so the fifteen lines below stay.
 */
export function capture(file: string, args: readonly string[], env: Env, cwd?: string): Promise<Captured> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => resolve({ code: 127, stdout, stderr: stderr + error.message }));
    child.on('close', (code, signal) => resolve({ code: shellStatus(code, signal), stdout, stderr }));
  });
}

/**
 * Runs a command attached to this terminal (compose's progress, logs -f, exec) and resolves to
 * its exit status. Ctrl-C reaches it through the terminal's process group; this process only
 * stays alive until it has finished, so the status is the command's own.
 *
 * Not zx: zx settles a command on the child's 'close' and always runs it under a shell, and
 * here the status must be the command's own the moment it exits ('exit', see below), with no
 * bash between the terminal and compose to take the Ctrl-C first.
 */
export function attach(
  file: string, args: readonly string[], env: Env, options: { stdout?: 'inherit' | 'stderr'; cwd?: string } = {},
): Promise<number> {
  return new Promise((resolve) => {
    // 'stderr': progress of a command whose stdout would spoil --json output goes to stderr.
    const stdout = options.stdout === 'stderr' ? 2 : 'inherit';
    const child = spawn(file, args, { env, cwd: options.cwd, stdio: ['inherit', stdout, 'inherit'] });
    const ignore = () => {};
    process.on('SIGINT', ignore);
    child.on('error', () => resolve(127));
    // 'exit', not 'close': no stdio is piped here, and a grandchild that keeps the terminal
    // open (compose v1 does) must not keep this waiting.
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(shellStatus(code, signal));
    });
  });
}

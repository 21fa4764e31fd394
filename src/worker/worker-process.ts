/**
 * One worker process: started only by the supervisor (fork with an IPC channel), it never
 * restarts itself. This file is the process around the runtime (worker-runtime.ts): the
 * supervisor's messages, signals, and how it exits.
 */
import { loadConfig } from '../config/config.js';
import { BouyError, describeError } from '../errors.js';
import { createLogger, logDestination } from '../log.js';
import { ABORT_EXIT_MS, WAIT_FOR_GO, type SupervisorMessage } from '../ipc.js';
import { send, WorkerRuntime } from './worker-runtime.js';
import { killWhenOrphaned } from './parent-watch.js';
import { workerName } from '../registry/keys.js';

/**
 * The supervisor's messages from the start, before the worker exists: kept, then handed over
 * in order (Node emits a read's messages one tick after another, ahead of any awaited
 * continuation, so a `drain` right behind `go` would otherwise be lost). A pre-forked worker
 * waits among them for `go`: false when told to stop instead, or when the supervisor is gone.
 */
function earlyMessages() {
  const kept: SupervisorMessage[] = [];
  let settle: ((go: boolean) => void) | undefined;
  const gone = () => settle?.(false);
  const keep = (message: SupervisorMessage) => {
    kept.push(message);
    if (message.type === 'go') settle?.(true);
    if (message.type === 'drain' || message.type === 'abort') settle?.(false);
  };
  process.on('message', keep);
  process.on('disconnect', gone);
  return {
    untilGo: () => new Promise<boolean>((resolve) => {
      settle = resolve;
      if (!process.connected) resolve(false); // gone before anyone listened
    }),
    handOver(handle: (message: SupervisorMessage) => void): void {
      process.off('message', keep);
      process.off('disconnect', gone);
      process.on('message', handle);
      for (const message of kept) handle(message);
    },
  };
}

async function main(): Promise<void> {
  // A stuck event loop cannot see the supervisor go: a thread of its own can (parent-watch.ts).
  killWhenOrphaned(ABORT_EXIT_MS + 1000);
  const early = earlyMessages();
  const config = loadConfig();
  const name = process.env.WORKER_NAME ?? workerName(config.hostname, process.env.WORKER_INDEX ?? '1');
  // Workers always log JSON: the supervisor relays and, on a terminal, prettifies the lines.
  const destination = logDestination('json');
  let lines = 0;
  const counting = { write: (line: string) => { lines += 1; destination.write(line); } };
  const log = createLogger({ level: config.logLevel, format: 'json', name: 'bouy', base: { worker: name } }, counting);
  if (process.env[WAIT_FOR_GO] === '1') {
    delete process.env[WAIT_FOR_GO]; // not for the processor, nor for anything it starts
    // Pre-forked: nothing touches Redis before the supervisor says go (the WorkerRuntime below
    // opens the connections). Told to stop instead, or orphaned, there is nothing to release.
    log.debug('pre-forked: modules loaded, waiting for the supervisor');
    if (!(await early.untilGo())) process.exit(0);
  }
  const worker = new WorkerRuntime(config, name, log, () => lines);
  const exitAfter = (work: Promise<void>) =>
    work.then(() => process.exit(0), (error) => {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });

  const abort = (reason: string) => {
    setTimeout(() => process.exit(1), ABORT_EXIT_MS);
    void exitAfter(worker.abort(reason));
  };
  const onMessage = (message: SupervisorMessage) => {
    if (message.type === 'drain') void exitAfter(worker.drain());
    if (message.type === 'abort') abort('drain deadline passed');
    if (message.type === 'quiet') worker.quiet();
    if (message.type === 'register') void worker.registerAgain();
  };
  early.handOver(onMessage);
  // The supervisor died (even by SIGKILL): never outlive it, and give the jobs back. Its end
  // of our stdout pipe died with it, so logging now would only raise EPIPE.
  process.on('disconnect', () => {
    log.level = 'silent';
    abort('supervisor gone');
  });
  // Ctrl-C, a closed terminal (HUP) and Gunicorn-style HUP reach the whole process group;
  // the supervisor decides what they mean, so they mean nothing here.
  process.on('SIGINT', () => {});
  process.on('SIGHUP', () => {});
  process.on('SIGTSTP', () => {}); // Ctrl-Z at a terminal must not stop a worker mid-job
  process.on('SIGTERM', () => void exitAfter(worker.drain()));

  try {
    await worker.start();
  } catch (error) {
    log.error({ err: error }, 'worker failed to start');
    const known = error instanceof BouyError ? { code: error.code, ...(error.hint === undefined ? {} : { hint: error.hint }) } : {};
    await send({ type: 'init-failed', error: describeError(error), ...known });
    await worker.abort('start-up failed').catch(() => {});
    process.exit(1);
  }
}

void main();

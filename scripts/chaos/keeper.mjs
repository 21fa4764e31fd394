// Keeps one bouy supervisor running the way `restart: unless-stopped` would: started again
// after any exit nobody asked for (a start-up refused while Redis is down exits 69, and the
// orchestrator's restart is what brings it back).
import { startBouy } from '../bench/bouy.mjs';
import { sleep } from '../bench/wait.mjs';

export function keepSupervisor(env, log, options = {}) {
  let current;
  let wanted = true;
  let restarting;
  const unexpected = [];

  const launch = async () => {
    const proc = await startBouy(env, { keepLines: false, ...options });
    current = proc;
    void proc.exited.then(async ({ code, signal }) => {
      if (current !== proc || !wanted || restarting) return;
      unexpected.push({ code, signal, stderr: proc.stderr.slice(-3) });
      log(`supervisor exited on its own (${signal ?? `code ${code}`}); starting it again`);
      await sleep(300);
      if (current === proc && wanted && !restarting) await launch();
    });
  };

  /** Ends the current supervisor with `end`, then launches the next; exits meanwhile are ours. */
  const replace = async (end) => {
    restarting = (async () => {
      await end();
      await launch();
    })();
    try {
      await restarting;
    } finally {
      restarting = undefined;
    }
  };

  return {
    unexpected,
    get pid() { return current?.pid; },
    start: launch,
    /** SIGTERM (drain), wait for the exit, start a new one. */
    restart() {
      return replace(async () => {
        const { code, signal } = await current.stop(60_000);
        log(`supervisor drained and exited (${signal ?? `code ${code}`}); starting it again`);
      });
    },
    /**
     * SIGTERM, then SIGKILL `afterMs` later while its workers drain (an orchestrator's kill
     * timeout, an OOM): the orphaned workers must hand their jobs back and go. `beforeKill`
     * sees the supervisor's pid first. Then it is started again.
     */
    killMidDrain(afterMs, beforeKill) {
      return replace(async () => {
        current.kill('SIGTERM');
        await sleep(afterMs);
        beforeKill(current.pid);
        current.kill('SIGKILL');
        await current.exited;
        log('supervisor SIGKILLed mid-drain; starting it again');
      });
    },
    async stop() {
      wanted = false;
      await restarting?.catch(() => {});
      return current?.stop(60_000);
    },
  };
}

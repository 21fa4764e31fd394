// Keeps one bouy supervisor running the way `restart: unless-stopped` would: started again
// after any exit nobody asked for (a start-up refused while Redis is down exits 69, and the
// orchestrator's restart is what brings it back).
import { startBouy } from '../bench/bouy.mjs';
import { sleep } from '../bench/wait.mjs';

export function keepSupervisor(env, log) {
  let current;
  let wanted = true;
  let restarting;
  const unexpected = [];

  const launch = async () => {
    const proc = await startBouy(env, { keepLines: false });
    current = proc;
    void proc.exited.then(async ({ code, signal }) => {
      if (current !== proc || !wanted || restarting) return;
      unexpected.push({ code, signal, stderr: proc.stderr.slice(-3) });
      log(`supervisor exited on its own (${signal ?? `code ${code}`}); starting it again`);
      await sleep(300);
      if (current === proc && wanted && !restarting) await launch();
    });
  };

  return {
    unexpected,
    get pid() { return current?.pid; },
    start: launch,
    /** SIGTERM (drain), wait for the exit, start a new one. */
    async restart() {
      restarting = (async () => {
        const { code, signal } = await current.stop(60_000);
        log(`supervisor drained and exited (${signal ?? `code ${code}`}); starting it again`);
        await launch();
      })();
      try {
        await restarting;
      } finally {
        restarting = undefined;
      }
    },
    async stop() {
      wanted = false;
      await restarting?.catch(() => {});
      return current?.stop(60_000);
    },
  };
}

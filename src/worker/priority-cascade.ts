import type { Worker } from 'bullmq';

/**
 * Several queues in priority order: the worker of queue k takes jobs only while every queue
 * before it has nothing waiting. BullMQ has no cross-queue priority, so each lower worker is
 * paused when a higher queue becomes busy ('active') and resumed when it is empty ('drained').
 * A job a lower worker already took still finishes; it just takes no more.
 */
export function cascadePriorities(workers: readonly Worker[]): void {
  const busy = workers.map(() => false);
  const apply = () => {
    let higherBusy = false;
    for (const [k, worker] of workers.entries()) {
      if (worker.closing) return;
      if (higherBusy && !worker.isPaused()) void worker.pause(true).catch(() => {});
      if (!higherBusy && worker.isPaused()) worker.resume();
      higherBusy ||= busy[k]!;
    }
  };
  workers.forEach((worker, k) => {
    worker.on('active', () => { busy[k] = true; apply(); });
    worker.on('drained', () => { busy[k] = false; apply(); });
  });
  apply();
}

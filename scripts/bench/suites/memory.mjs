// Memory: resident set sizes taken by the start-up suite (a quiet fleet of 4) and by the
// throughput suite (peaks while draining no-op jobs), put side by side.
import { cell, summarize } from '../stats.mjs';

const median = (values) => summarize(values.filter((v) => v !== undefined));

export function table({ idle, settled, peaks }) {
  const idleWorker = (kind, when = idle) => median(when[kind].flatMap((s) => s.workers));
  const idleManager = (kind, when = idle) => median(when[kind].map((s) => s.manager));
  const load = (key, field) => median((peaks[key] ?? []).map((p) => p[field]));
  return {
    title: 'Memory (RSS, MiB): manager process and each worker process',
    columns: ['', 'bouy supervisor', 'bouy worker', 'PM2 daemon (pm2-runtime)', 'PM2 instance', 'plain BullMQ process'],
    rows: [
      ['idle, 4 workers, 1.5 s after ready', cell(idleManager('bouy')), cell(idleWorker('bouy')), cell(idleManager('pm2')), cell(idleWorker('pm2')), '—'],
      ['idle, 4 workers, settled (25 s after ready)', cell(idleManager('bouy', settled)), cell(idleWorker('bouy', settled)), cell(idleManager('pm2', settled)), cell(idleWorker('pm2', settled)), '—'],
      ['under load (no-op drain; peak)', cell(load('bouy4', 'manager')), cell(load('bouy4', 'perWorker')), cell(load('pm2', 'manager')), cell(load('pm2', 'perWorker')), cell(load('plain', 'perWorker'))],
    ],
  };
}

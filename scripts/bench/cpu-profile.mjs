// Preloaded with NODE_OPTIONS=--import (Node 20 refuses --cpu-prof there, and the supervisor
// forks its workers with no exec arguments): profiles the whole process through the inspector
// and writes <BENCH_CPU_PROFILE_DIR>/<pid>.cpuprofile when it exits, however it exits.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // µs between samples; finer for `npm run cpu-split`, whose per-job split needs more samples.
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROFILE_INTERVAL_US ?? 500) });
  session.post('Profiler.start');
  process.on('exit', () => {
    // Same-thread inspector sessions answer synchronously, so this lands before the exit.
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

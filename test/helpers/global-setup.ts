import { spawnSync } from 'node:child_process';

/** The fast suite runs real Redis servers: say how to get one instead of 100 cryptic failures. */
export default function requireRedisServer(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error('the tests start their own redis-server, but none is on PATH: install it (Debian/Ubuntu: `apt-get install redis-server`, macOS: `brew install redis`) and run `npm test` again');
  }
}

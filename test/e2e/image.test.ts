import { describe, expect, it } from 'vitest';
import { IMAGE, docker, testStack } from '../helpers/stack.js';

// The image on its own: built by `./bouy build` (Compose, classic builder), then run directly.
describe('the image', () => {
  it('builds with ./bouy build --test', async () => {
    const stack = testStack();
    try {
      const r = await stack.run(['build', '--json'], {}, 600_000);
      expect(r.code, r.stderr).toBe(0);
      const inspect = await docker(['image', 'inspect', IMAGE, '--format', '{{.Config.User}} {{json .Config.Healthcheck.Test}} {{json .Config.Entrypoint}} {{json .Config.Cmd}}']);
      expect(inspect.stdout.trim()).toBe('node ["CMD","node","/app/dist/healthcheck.js"] ["/usr/bin/tini","--","node","--max-semi-space-size=1","/app/dist/bundle/entrypoint.js"] []');
    } finally {
      await stack.clean();
    }
  });

  it('runs as the non-root user node, with tini as PID 1', async () => {
    const r = await docker(['run', '--rm', IMAGE, 'sh', '-c', 'id -un; cat /proc/1/comm']);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(['node', 'tini']);
  });

  it('a command on PATH runs in place of a service: docker run IMAGE bash -c …', async () => {
    const r = await docker(['run', '--rm', IMAGE, 'bash', '-c', 'echo hello from bash; exit 3']);
    expect(r.stdout.trim()).toBe('hello from bash');
    expect(r.code).toBe(3);
  });

  it('docker run IMAGE nonsense exits 64 naming the service and the choices', async () => {
    const r = await docker(['run', '--rm', IMAGE, 'nonsense']);
    expect(r.stderr).toMatch(/unknown service "nonsense": not a service and not a command on PATH/);
    expect(r.stderr).toMatch(/hint: use one of: worker/);
    expect(r.code).toBe(64);
  });

  it('SERVICE_TYPE chooses the service when there is no argument', async () => {
    const r = await docker(['run', '--rm', '-e', 'SERVICE_TYPE=nonsense', IMAGE]);
    expect(r.stderr).toMatch(/unknown service "nonsense" \(from SERVICE_TYPE\)/);
    expect(r.code).toBe(64);
  });

  it('a bad WORKER_COUNT exits 64 naming the variable, the value and what is allowed', async () => {
    const r = await docker(['run', '--rm', '-e', 'WORKER_COUNT=25', IMAGE, 'worker']);
    expect(r.stderr).toMatch(/WORKER_COUNT="25" is not valid: a whole number from 1 to 20/);
    expect(r.code).toBe(64);
  });

  it('with no argument and no SERVICE_TYPE it runs the worker service', async () => {
    // The worker's pre-flight fails first here (no Redis), which proves it is the worker.
    const r = await docker(['run', '--rm', '-e', 'REDIS_URL=redis://127.0.0.1:1', IMAGE]);
    expect(r.stderr).toMatch(/Redis is not reachable at redis:\/\/127\.0\.0\.1:1/);
    expect(r.code).toBe(69);
  });

  it('no Redis: exits 69 saying where it looked, before starting anything', async () => {
    const r = await docker(['run', '--rm', '-e', 'REDIS_URL=redis://127.0.0.1:1', IMAGE, 'worker']);
    expect(r.stderr).toMatch(/Redis is not reachable at redis:\/\/127\.0\.0\.1:1/);
    expect(r.stderr).toMatch(/hint: start one/);
    expect(r.code).toBe(69);
  });
});

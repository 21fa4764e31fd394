import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { runEntrypoint, stopProcess, type Running } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { waitFor } from './helpers/wait.js';

// Issue 8, item 11: the dashboard (bull-board) deletes jobs for anyone who can reach it.
// Real dashboard processes on a real Redis; the attacker is a plain anonymous fetch.

let redis: RedisServer;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.close(); });

const USER = 'operator';
const PASSWORD = `pw-${randomUUID()}`;
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

/** Starts the dashboard; resolves once it answers /livez or has exited, whichever comes first. */
async function startDashboard(env: Record<string, string>, host = '127.0.0.1'): Promise<{ run: Running; url: string; port: number; exited: boolean }> {
  const port = await freePort();
  const run = runEntrypoint(['dashboard'], { REDIS_URL: redis.url, DASHBOARD_PORT: String(port), ...env });
  let exited = false;
  void run.exited.then(() => { exited = true; });
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  await waitFor(async () => exited || (await fetch(`${url}/livez`).then((r) => r.ok, () => false)), 'the dashboard to answer or exit');
  return { run, url, port, exited };
}

/** Whether anything accepts a TCP connection on the port (loopback). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

function output(run: Running): string {
  return [...run.stdout, ...run.stderr].join('\n');
}

/** Starts the dashboard expecting it to refuse: it must exit (never answer), and with 64. */
async function expectRefused(env: Record<string, string>, host = '127.0.0.1'): Promise<{ run: Running; port: number }> {
  const started = await startDashboard(env, host);
  if (!started.exited) {
    await stopProcess(started.run);
    expect.fail(`the dashboard started and answered on port ${started.port} instead of refusing to start`);
  }
  expect((await started.run.exited).code, output(started.run)).toBe(64);
  return started;
}

describe('the dashboard with DASHBOARD_USER / DASHBOARD_PASSWORD', () => {
  it('refuses anonymous and wrong credentials on the page and its API; the right ones work', async () => {
    const queueName = `dash-auth-${randomUUID().slice(0, 8)}`;
    const queue = new Queue(queueName, { connection: redis.client.duplicate() });
    // Older than bull-board's 5 s grace, so a clean that got through would delete them.
    await queue.addBulk([1, 2, 3].map((i) => ({ name: 'victim', data: { i }, opts: { timestamp: Date.now() - 60_000 } })));
    const { run, url, exited } = await startDashboard({
      QUEUE_NAME: queueName, DASHBOARD_HOST: '127.0.0.1', DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD,
    });
    try {
      expect(exited, output(run)).toBe(false);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(401);
      expect(page.headers.get('www-authenticate')).toMatch(/^Basic realm=/);

      const clean = await fetch(`${url}/api/queues/${queueName}/clean/waiting`, { method: 'PUT' });
      expect(clean.status).toBe(401);
      expect(await queue.getWaitingCount()).toBe(3);

      const wrong = await fetch(`${url}/api/queues/${queueName}/clean/waiting`, { method: 'PUT', headers: basic(USER, `${PASSWORD}x`) });
      expect(wrong.status).toBe(401);
      expect((await fetch(`${url}/api/queues`, { headers: basic('someone', PASSWORD) })).status).toBe(401);
      expect(await queue.getWaitingCount()).toBe(3);

      // The probes stay open for the orchestrator; they say nothing secret.
      expect((await fetch(`${url}/livez`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);

      const authed = await fetch(`${url}/`, { headers: basic(USER, PASSWORD) });
      expect(authed.status).toBe(200);
      expect(await authed.text()).toContain('<html');
      const api = (await (await fetch(`${url}/api/queues`, { headers: basic(USER, PASSWORD) })).json()) as { queues: Array<{ name: string }> };
      expect(api.queues.map((q) => q.name)).toEqual([queueName]);
      const cleaned = await fetch(`${url}/api/queues/${queueName}/clean/waiting`, { method: 'PUT', headers: basic(USER, PASSWORD) });
      expect(cleaned.status).toBe(200);
      expect(await queue.getWaitingCount()).toBe(0);
    } finally {
      await stopProcess(run);
      await queue.close();
    }
    expect((await run.exited).code).toBe(0);
    expect(output(run)).toContain(`user ${USER}`);
    expect(output(run)).not.toContain(PASSWORD);
  });

  it('without credentials on a non-loopback address: exit 64, says how to set them, nothing listening', async () => {
    const { run, port } = await expectRefused({ DASHBOARD_HOST: '0.0.0.0' }, '0.0.0.0');
    const stderr = run.stderr.join('\n');
    expect(stderr).toMatch(/DASHBOARD_USER and DASHBOARD_PASSWORD/);
    expect(stderr).toMatch(/\.\/bouy setup/);
    expect(stderr).toMatch(/DASHBOARD_AUTH=none/);
    expect(await listening(port)).toBe(false);
  });

  it('the default address (HEALTH_HOST, 0.0.0.0) without credentials is refused too', async () => {
    await expectRefused({}, '0.0.0.0');
  });

  it('a short password or a user without a password: exit 64, the password never printed', async () => {
    const short = 'shortpw1';
    const tooShort = await expectRefused({ DASHBOARD_HOST: '127.0.0.1', DASHBOARD_USER: USER, DASHBOARD_PASSWORD: short });
    expect(tooShort.run.stderr.join('\n')).toMatch(/DASHBOARD_PASSWORD.*at least 12 characters/);
    expect(output(tooShort.run)).not.toContain(short);

    const half = await expectRefused({ DASHBOARD_HOST: '127.0.0.1', DASHBOARD_PASSWORD: PASSWORD });
    expect(half.run.stderr.join('\n')).toMatch(/DASHBOARD_USER/);
    expect(output(half.run)).not.toContain(PASSWORD);
  });

  it('DASHBOARD_AUTH=none on 0.0.0.0 starts without authentication, and says so', async () => {
    const { run, url, exited } = await startDashboard({ DASHBOARD_HOST: '0.0.0.0', DASHBOARD_AUTH: 'none' }, '0.0.0.0');
    try {
      expect(exited, output(run)).toBe(false);
      expect((await fetch(`${url}/`)).status).toBe(200);
      await run.waitForLog((l) => /without authentication/.test(String(l.msg)), 'a warning that the dashboard is open');
    } finally {
      await stopProcess(run);
    }
  });

  it('on loopback without credentials it starts (only this host can reach it)', async () => {
    const { run, url, exited } = await startDashboard({ DASHBOARD_HOST: '127.0.0.1' });
    try {
      expect(exited, output(run)).toBe(false);
      expect((await fetch(`${url}/`)).status).toBe(200);
    } finally {
      await stopProcess(run);
    }
  });

  it('a bad DASHBOARD_AUTH is exit 64 naming the allowed values', async () => {
    const { run } = await expectRefused({ DASHBOARD_HOST: '127.0.0.1', DASHBOARD_AUTH: 'off' });
    expect(run.stderr.join('\n')).toMatch(/DASHBOARD_AUTH="off" is not valid: one of basic, none/);
  });
});

describe('credentials helpers', () => {
  it('sameSecret compares whole secrets of any length; isLoopback knows only this host\'s addresses', async () => {
    const { sameSecret, isLoopback } = await import('../src/http/credentials.js');
    expect(sameSecret('a-long-password', 'a-long-password')).toBe(true);
    expect(sameSecret('a-long-password', 'a-long-passwor')).toBe(false);
    expect(sameSecret('', 'x')).toBe(false);
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.5', 'example.com', '128.0.0.1']) expect(isLoopback(host), host).toBe(false);
  });
});

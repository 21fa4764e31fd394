/// <reference lib="dom" />
import { randomUUID } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetOverview } from '../src/dashboard/fleet-overview.js';
import { launchBrowser, type Browser } from './helpers/browser.js';
import { startDashboard, type TestDashboard } from './helpers/dashboard.js';
import { expectNothingNewTaken, expectQuietProbes } from './helpers/quiet.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { allReady, startFleet, type TestFleet } from './helpers/supervisor.js';
import { waitFor } from './helpers/wait.js';

// The fleet page (issue 10) in a real Chromium, against real supervisors, a real dashboard
// process and a real Redis: what it lists, that it follows restarts live, and that its buttons
// reach the supervisor through Redis.

const USER = 'operator';
const PASSWORD = `pw-${randomUUID()}`;

let redis: RedisServer;
let browser: Browser;
beforeAll(async () => {
  redis = await startRedis();
  browser = launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await redis?.close();
});

interface Setup { fleet: TestFleet; dashboard: TestDashboard; page: Page; context: BrowserContext }

/** A supervisor with `workers` workers, a dashboard on its prefix, and the page open, logged in. */
async function openFleetPage(workers: number, env: Record<string, string> = {}): Promise<Setup> {
  const fleet = await startFleet(redis, { WORKER_COUNT: String(workers), ...env });
  const dashboard = await startDashboard(redis, {
    BOUY_PREFIX: fleet.prefix, QUEUE_NAME: fleet.queueName, DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD, LOG_LEVEL: 'warn',
  });
  await allReady(fleet);
  const context = await browser.context({ httpCredentials: { username: USER, password: PASSWORD } });
  const page = await context.newPage();
  const response = await page.goto(`${dashboard.url}/fleet`);
  expect(response?.status()).toBe(200);
  return { fleet, dashboard, page, context };
}

async function closeAll({ fleet, dashboard, context }: Setup): Promise<void> {
  await context.close();
  await Promise.all([fleet.close(), dashboard.close()]);
}

const row = (fleet: TestFleet, index: number) => `section[data-host="${fleet.hostname}"] tr[data-worker="worker-${fleet.hostname}-${index}"]`;

/** The pid the page shows for worker `index` once it shows it in `state`. */
async function pidWhen(page: Page, fleet: TestFleet, index: number, state: string, notPid?: string): Promise<string> {
  const selector = `${row(fleet, index)}[data-state="${state}"]${notPid ? `:not([data-pid="${notPid}"])` : ''}`;
  const element = await page.waitForSelector(selector, { timeout: 30_000 });
  return (await element.getAttribute('data-pid'))!;
}

/** Clicks a button, then Confirm in the page's dialog; the dashboard must accept the command. */
async function clickAndConfirm(page: Page, selector: string): Promise<void> {
  await page.click(selector);
  await page.waitForSelector('dialog#confirm[open]');
  const accepted = page.waitForResponse((r) => r.url().endsWith('/fleet/api/commands'));
  await page.click('#confirm-ok');
  expect((await accepted).status()).toBe(202);
}

describe('the fleet page', () => {
  it('lists the WORKER_COUNT workers with their pids, the summary, and refuses an anonymous visitor', async () => {
    const setup = await openFleetPage(3);
    const { page, fleet, dashboard } = setup;
    try {
      await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 3, `section[data-host="${fleet.hostname}"] tr[data-worker]`);
      const { body } = await fleet.health();
      for (const worker of body.workers as Array<{ index: number; pid: number }>) {
        expect(await pidWhen(page, fleet, worker.index, 'ready')).toBe(String(worker.pid));
      }
      expect(await page.textContent('[data-stat="workers"] b')).toBe('3');
      expect(await page.textContent('[data-stat="containers"] b')).toBe('1');
      expect(await page.textContent('[data-stat="slots"] b')).toBe('0 / 3');
      expect(await page.textContent('[data-stat="agreement"] b')).toBe('agree');

      // JSON for scripts, same credentials.
      const auth = { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
      const json = await fetch(`${dashboard.url}/fleet?format=json`, { headers: auth });
      expect(json.status).toBe(200);
      const data = (await json.json()) as FleetOverview;
      expect(data.summary).toMatchObject({ containers: 1, workers: 3, total_slots: 3 });
      expect(data.containers[0]).toMatchObject({ host: fleet.hostname, health_port: fleet.healthPort, quiet: false });

      // Anonymous and wrong credentials: the page, its script, its data and its commands are
      // all refused. Chromium shows the 401 or, with nothing to answer the challenge with, fails
      // the navigation; either way the one response is the 401 (no script, no data loaded).
      for (const httpCredentials of [undefined, { username: USER, password: 'wrong-password-123' }]) {
        const visitor = await (await browser.context(httpCredentials ? { httpCredentials } : {})).newPage();
        const statuses: number[] = [];
        visitor.on('response', (r) => statuses.push(r.status()));
        const navigation = await visitor.goto(`${dashboard.url}/fleet`).then((r) => r?.status(), (e: Error) => e.message);
        expect(navigation === 401 || /ERR_INVALID_AUTH_CREDENTIALS/.test(String(navigation)), String(navigation)).toBe(true);
        expect(statuses).toEqual([401]);
      }
      for (const path of ['/fleet/api', '/fleet?format=json', '/fleet/fleet.js']) expect((await fetch(`${dashboard.url}${path}`)).status).toBe(401);
      const post = await fetch(`${dashboard.url}/fleet/api/commands`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-bouy-fleet': '1' }, body: JSON.stringify({ action: 'quiet', host: fleet.hostname }),
      });
      expect(post.status).toBe(401);
      expect((await fleet.health()).body.status).toBe('healthy');
    } finally {
      await closeAll(setup);
    }
    }, 180_000); // the first test also pays for Chromium's first start and the dashboard's

  it('shows a SIGKILLed worker restarting, then ready with a new pid', async () => {
    const setup = await openFleetPage(2, { RESTART_DELAY_SECONDS: '4' });
    const { page, fleet } = setup;
    try {
      const oldPid = await pidWhen(page, fleet, 2, 'ready');
      process.kill(Number(oldPid), 'SIGKILL');
      await page.waitForSelector(`${row(fleet, 2)}[data-state="restarting"]`, { timeout: 15_000 });
      const newPid = await pidWhen(page, fleet, 2, 'ready', oldPid);
      expect(newPid).not.toBe(oldPid);
      expect(Number(newPid)).toBeGreaterThan(0);
      expect(await page.textContent(`${row(fleet, 2)} td:nth-child(7)`)).toMatch(/^1 \(signal SIGKILL/);
      await page.waitForSelector(`#events tr[data-kind="restart"]`);
    } finally {
      await closeAll(setup);
    }
  });

  it('Recycle replaces one worker (new pid), Resize changes the number of workers', async () => {
    const setup = await openFleetPage(2);
    const { page, fleet, dashboard } = setup;
    try {
      const before1 = await pidWhen(page, fleet, 1, 'ready');
      const before2 = await pidWhen(page, fleet, 2, 'ready');
      await clickAndConfirm(page, `${row(fleet, 1)} button[data-action="recycle-worker"]`);
      const after1 = await pidWhen(page, fleet, 1, 'ready', before1);
      expect(after1).not.toBe(before1);
      expect(await page.getAttribute(row(fleet, 2), 'data-pid')).toBe(before2); // only the one
      await page.waitForSelector(`#events tr[data-kind="recycle"]`);
      expect((await fleet.health()).body.workers[0].recycles).toEqual({ manual: 1 });

      // Cancel does nothing; Confirm with 3 adds a worker.
      await page.click(`section[data-host="${fleet.hostname}"] button[data-action="resize"]`);
      await page.click('dialog#confirm button[value="cancel"]');
      await page.click(`section[data-host="${fleet.hostname}"] button[data-action="resize"]`);
      await page.fill('#confirm-input', '3');
      const resized = page.waitForResponse((r) => r.url().endsWith('/fleet/api/commands'));
      await page.click('#confirm-ok');
      expect((await resized).status()).toBe(202);
      await pidWhen(page, fleet, 3, 'ready');
      expect((await fleet.health()).body.worker_count).toBe(3);

      // The dashboard validates before anything reaches Redis; no header means no command.
      const auth = { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
      const command = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json', 'x-bouy-fleet': '1' }) =>
        fetch(`${dashboard.url}/fleet/api/commands`, { method: 'POST', headers: { ...auth, ...headers }, body: JSON.stringify(body) });
      const cases: Array<[unknown, number, RegExp]> = [
        [{ action: 'resize', host: fleet.hostname, workers: 21 }, 400, /workers 21 is not valid: a whole number from 1 to 20/],
        [{ action: 'explode', host: fleet.hostname }, 400, /action "explode" is not valid: one of quiet, recycle, resize/],
        [{ action: 'quiet', host: fleet.hostname, extra: 1 }, 400, /unknown field\(s\) for quiet: extra/],
        [{ action: 'recycle', host: fleet.hostname, worker: 9 }, 404, /has no worker 9/],
        [{ action: 'quiet', host: 'no-such-host' }, 404, /no live container no-such-host/],
      ];
      for (const [body, status, message] of cases) {
        const response = await command(body);
        expect(response.status, JSON.stringify(body)).toBe(status);
        expect(((await response.json()) as { message: string }).message).toMatch(message);
      }
      const forged = await command({ action: 'quiet', host: fleet.hostname }, { 'content-type': 'text/plain' });
      expect(forged.status).toBe(403);
      expect((await fleet.health()).body.status).toBe('healthy');
    } finally {
      await closeAll(setup);
    }
  });

  it('Quiet turns the container quiet: /readyz 503, /livez 200, the running job finishes, no new one is taken', async () => {
    const setup = await openFleetPage(2);
    const { page, fleet } = setup;
    try {
      const running = await fleet.queue.add('slow', { gate: 'slow' });
      await waitFor(async () => (await fleet.started()).length === 1, 'the slow job to start');
      await page.waitForSelector(`section[data-host="${fleet.hostname}"] tr[data-state="busy"] .job`);
      await clickAndConfirm(page, `section[data-host="${fleet.hostname}"] button[data-action="quiet"]`);
      await page.waitForSelector(`section[data-host="${fleet.hostname}"][data-quiet="true"]`, { timeout: 30_000 });
      await expectQuietProbes(fleet);
      await expectNothingNewTaken(fleet, running.id!, 'slow');
      await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((r) => r.getAttribute('data-state') === 'quiet'), `section[data-host="${fleet.hostname}"] tr[data-worker]`);
      await page.waitForSelector(`#events tr[data-kind="quiet"]`);
    } finally {
      await closeAll(setup);
    }
  });

  it('WORKER_COUNT=MIN-MAX: the container line shows current, min, max and target', async () => {
    const setup = await openFleetPage(1, { WORKER_COUNT: '1-3' });
    try {
      const meta = await setup.page.waitForSelector(`section[data-host="${setup.fleet.hostname}"] .meta`, { timeout: 30_000 });
      await waitFor(async () => (await meta.textContent())?.includes('workers 1 (min 1, max 3, target 1)'), 'the scaling figures on the page');
    } finally {
      await closeAll(setup);
    }
  });
});

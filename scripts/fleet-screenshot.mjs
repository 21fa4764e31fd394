#!/usr/bin/env node
// Takes the README's picture of the fleet page: `node scripts/fleet-screenshot.mjs URL USER
// PASSWORD docs/fleet.png` against a running dashboard (Debian's chromium, via playwright-core).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [url = 'http://127.0.0.1:9181/fleet', username, password, out = 'docs/fleet.png', width = '1100'] = process.argv.slice(2);
const profile = mkdtempSync(path.join(os.tmpdir(), 'bouy-chromium-'));
// A fresh profile each time (playwright passes it as --user-data-dir).
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  viewport: { width: Number(width), height: 800 },
  ...(username ? { httpCredentials: { username, password } } : {}),
});
try {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('tr[data-worker]');
  await page.waitForTimeout(1600); // one more poll, so elapsed times and RSS are filled in
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

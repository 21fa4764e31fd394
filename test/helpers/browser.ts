import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** The flags ../shared/docs/ENVIRONMENT.md gives for Debian's chromium as root on this network. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export interface Browser {
  /** A fresh browser context (its own cookies and credentials). */
  context(options?: { httpCredentials?: { username: string; password: string } }): Promise<BrowserContext>;
  close(): Promise<void>;
}

/**
 * A real Chromium (/usr/bin/chromium, driven by playwright-core), each context with a fresh
 * profile directory of its own, removed on close.
 */
export function launchBrowser(): Browser {
  const open: Array<{ context: BrowserContext; dir: string }> = [];
  return {
    async context(options = {}) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-chromium-'));
      const context = await chromium.launchPersistentContext(dir, {
        executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, viewport: { width: 1100, height: 900 }, ...options,
      });
      open.push({ context, dir });
      return context;
    },
    async close() {
      for (const { context, dir } of open.splice(0)) {
        await context.close().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

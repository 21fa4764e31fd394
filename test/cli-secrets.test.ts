import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDotenv } from '../src/cli/dotenv.js';
import { bouy, json } from './helpers/bouy.js';

// Issue 8, item 11: `./bouy setup` generates the stack's credentials into .env, readable only
// by its owner, never overwriting one already set and never printing one.

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'bouy-secrets-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SECRET_NAMES = ['API_TOKEN', 'DASHBOARD_PASSWORD', 'ADMIN_TOKEN'];
// Nothing the shell running the tests has set may leak into these.
const clean = Object.fromEntries([...SECRET_NAMES, 'DASHBOARD_USER'].map((n) => [n, undefined]));

describe('./bouy setup and the credentials', () => {
  it('generates API_TOKEN, DASHBOARD_USER/PASSWORD and ADMIN_TOKEN into a 0600 .env, and prints none of them', async () => {
    const file = path.join(tmp, 'fresh.env');
    const human = await bouy(['setup', '--defaults'], { ...clean, BOUY_ENV_FILE: file });
    expect(human.code, human.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const values = parseDotenv(readFileSync(file, 'utf8'));
    expect(values.API_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(values.ADMIN_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(values.DASHBOARD_PASSWORD).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(values.DASHBOARD_USER).toBe('bouy');
    expect(values.WORKER_COUNT).toBe('1');
    expect(human.stdout).toContain(`dashboard login: user bouy, password in ${file} as DASHBOARD_PASSWORD`);

    const again = path.join(tmp, 'fresh-json.env');
    const asJson = await bouy(['setup', '--defaults', '--json'], { ...clean, BOUY_ENV_FILE: again });
    expect(json<{ secrets: { generated: string[] } }>(asJson).secrets.generated).toEqual(['API_TOKEN', 'DASHBOARD_USER', 'DASHBOARD_PASSWORD', 'ADMIN_TOKEN']);
    const other = parseDotenv(readFileSync(again, 'utf8'));
    for (const name of SECRET_NAMES) {
      expect(other[name], `${name} is random`).not.toBe(values[name]);
      for (const r of [human, asJson]) expect(r.stdout + r.stderr).not.toContain(values[name]!);
      expect(asJson.stdout + asJson.stderr).not.toContain(other[name]!);
    }
  });

  it('--force keeps every credential already set and generates only the missing ones; a 0644 file becomes 0600', async () => {
    const file = path.join(tmp, 'existing.env');
    const password = 'an-existing-password-kept';
    writeFileSync(file, `DASHBOARD_USER=alice\nDASHBOARD_PASSWORD=${password}\nQUEUE_NAME=kept\n`, { mode: 0o644 });
    const r = await bouy(['setup', '--defaults', '--force', '--json'], { ...clean, BOUY_ENV_FILE: file });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ secrets: { generated: string[]; kept: string[] } }>(r).secrets).toEqual({
      generated: ['API_TOKEN', 'ADMIN_TOKEN'], kept: ['DASHBOARD_USER', 'DASHBOARD_PASSWORD'],
    });
    expect(r.stdout + r.stderr).not.toContain(password);
    const values = parseDotenv(readFileSync(file, 'utf8'));
    expect(values).toMatchObject({ DASHBOARD_USER: 'alice', DASHBOARD_PASSWORD: password, QUEUE_NAME: 'kept' });
    expect(values.API_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('a short ADMIN_TOKEN already set is refused without being printed', async () => {
    const file = path.join(tmp, 'short.env');
    const r = await bouy(['setup', '--defaults'], { ...clean, BOUY_ENV_FILE: file, ADMIN_TOKEN: 'tooshort' });
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/ADMIN_TOKEN="\(hidden\)" is not valid: at least 16 characters/);
    expect(r.stderr).not.toContain('tooshort');
  });
});

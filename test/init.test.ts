/**
 * `bouy init` in an application's folder: the real CLI process, no terminal, in temp folders.
 * (From an installed package, and its example compiled: package.test.ts.)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/processes.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const WRITTEN = ['docker/Dockerfile', '.dockerignore', 'compose/base.yml', 'compose/prod.yml', 'compose/test.yml', 'compose/stack.yml', 'compose/dev.yml', '.env', 'processors/example.ts', 'processors/package.json'];

const dirs: string[] = [];
afterAll(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

function appFolder(manifest: object | null = { name: '@Acme/Mail App!', version: '1.0.0', type: 'commonjs' }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bouy-init-'));
  dirs.push(dir);
  if (manifest) writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));
  return dir;
}

/** `bouy …args` in `cwd`, as CI runs it: no terminal, stdin closed. */
function init(cwd: string, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'init', ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every file under `dir` with its content and modification time. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (sub: string) => {
    for (const entry of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.join(sub, entry.name);
      if (entry.isDirectory()) walk(rel);
      else out[rel] = `${statSync(path.join(dir, rel)).mtimeMs} ${readFileSync(path.join(dir, rel), 'utf8')}`;
    }
  };
  walk('');
  return out;
}

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');

describe('bouy init', () => {
  it('writes the application\'s Dockerfile, compose files, .env and an example processor, and prints the next commands', async () => {
    const dir = appFolder();
    const result = await init(dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const file of WRITTEN) expect(result.stdout).toContain(`  ${file}\n`);
    expect(result.stdout).toContain('npx bouy up worker');
    expect(result.stdout).toContain('npx bouy enqueue example');
    // compose/.env: a link to .env, which plain Compose reads (docker-compose -f compose/base.yml …).
    expect(Object.keys(snapshot(dir)).sort()).toEqual([...WRITTEN, 'package.json', 'compose/.env'].sort());
    expect(readlinkSync(path.join(dir, 'compose', '.env'))).toBe(path.join('..', '.env'));

    const dockerfile = read(dir, 'docker/Dockerfile');
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS base$/m);
    expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends tini/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/npm install --omit=dev/);
    expect(dockerfile).toMatch(/^FROM base AS runtime$/m);
    expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
    expect(dockerfile).toMatch(/^ENV PROCESSORS_DIR=\/app\/processors$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^EXPOSE 8080$/m);
    expect(dockerfile).toContain('CMD ["node", "/app/node_modules/bouy/dist/healthcheck.js"]');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", .*"\/app\/node_modules\/bouy\/dist\/bundle\/entrypoint\.js"\]$/m);
    // The runtime stage is the last one, and nothing only BuildKit reads.
    expect(dockerfile.lastIndexOf('\nFROM ')).toBe(dockerfile.indexOf('\nFROM base AS runtime'));
    const instructions = dockerfile.split('\n').filter((line) => !line.startsWith('#')).join('\n');
    expect(instructions).not.toMatch(/RUN --mount|COPY --chmod|<<\s*['"]?[A-Z]+/);
    expect(dockerfile).not.toMatch(/^# syntax=/m);
    expect(read(dir, '.dockerignore').split('\n')).toEqual(expect.arrayContaining(['node_modules', '.git', '.env']));

    // The package's own compose files, as shipped; the dev overlay is the application's.
    for (const name of ['base.yml', 'prod.yml', 'test.yml', 'stack.yml']) expect(read(dir, `compose/${name}`)).toBe(read(ROOT, `compose/${name}`));
    expect(read(ROOT, 'compose/base.yml')).toMatch(/context: \.\.\n\s+dockerfile: docker\/Dockerfile\n\s+target: runtime/);
    const dev = read(dir, 'compose/dev.yml');
    expect(dev).not.toContain('../src');
    expect(dev).not.toMatch(/target:\s*dev/);
    expect(dev).toContain('../processors:/app/processors:ro');

    const env = read(dir, '.env');
    expect(env).toMatch(/^COMPOSE_PROJECT_NAME=acme-mail-app$/m);
    expect(env).toMatch(/^BOUY_IMAGE=acme-mail-app:latest$/m);
    expect(env).toMatch(/^QUEUE_NAME=example$/m);
    expect(env).toMatch(/^# WORKER_COUNT=1$/m);
    expect(statSync(path.join(dir, '.env')).mode & 0o777).toBe(0o600);
    expect(read(dir, 'processors/example.ts')).toContain("import type { CheckResult, Processor, ProcessorContext } from 'bouy';");
    expect(JSON.parse(read(dir, 'processors/package.json'))).toEqual({ type: 'module' });
  });

  it('names QUEUE_NAME after the processors already there, and adds no example', async () => {
    const dir = appFolder({ name: 'shop', type: 'module' });
    mkdirSync(path.join(dir, 'processors'));
    for (const file of ['emails.ts', 'thumbnails.mjs', 'types.d.ts', 'README.md']) writeFileSync(path.join(dir, 'processors', file), '');
    const result = await init(dir);
    expect(result.code).toBe(0);
    expect(read(dir, '.env')).toMatch(/^QUEUE_NAME=emails,thumbnails$/m);
    // A "type": "module" application needs no processors/package.json.
    expect(readdirSync(path.join(dir, 'processors')).sort()).toEqual(['README.md', 'emails.ts', 'thumbnails.mjs', 'types.d.ts']);
  });

  it('never overwrites: a second run exits 1 naming each file, and changes nothing', async () => {
    const dir = appFolder();
    expect((await init(dir)).code).toBe(0);
    const before = snapshot(dir);
    const again = await init(dir);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain('not overwriting docker/Dockerfile, .dockerignore, compose/base.yml, compose/prod.yml, compose/test.yml, compose/stack.yml, compose/dev.yml, .env');
    expect(again.stderr).toContain('(nothing was written); pass --force to replace them');
    expect(snapshot(dir)).toEqual(before);
  });

  it('one file in the way stops it before anything is written: no half scaffold', async () => {
    const dir = appFolder();
    writeFileSync(path.join(dir, '.env'), 'MINE=1\n');
    const result = await init(dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`not overwriting .env in ${dir} (nothing was written); pass --force to replace it`);
    expect(Object.keys(snapshot(dir)).sort()).toEqual(['.env', 'package.json']);
    expect(read(dir, '.env')).toBe('MINE=1\n');
  });

  it('--force overwrites what is there', async () => {
    const dir = appFolder();
    expect((await init(dir)).code).toBe(0);
    writeFileSync(path.join(dir, 'docker', 'Dockerfile'), 'FROM scratch\n');
    const forced = await init(dir, ['--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('  docker/Dockerfile (replaced)');
    expect(read(dir, 'docker/Dockerfile')).toBe(read(ROOT, 'templates/docker/Dockerfile'));
  });

  it.each([
    [['--bogus'], 'Unknown argument: bogus'],
    [['extra'], 'Unknown argument: extra'],
    [['--quiet', '--verbose'], '--quiet and --verbose exclude each other'],
  ])('bad arguments %j: exit 64 saying which, nothing written', async (args, message) => {
    const dir = appFolder();
    const result = await init(dir, args);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain(`bouy: ${message}`);
    expect(Object.keys(snapshot(dir))).toEqual(['package.json']);
  });

  it('outside an application (no package.json): exit 64 saying what to do', async () => {
    const dir = appFolder(null);
    const result = await init(dir);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain(`no package.json in ${dir}: bouy init sets up an application's folder`);
    expect(result.stderr).toContain('hint: run it in your application\'s folder, or start one: npm init -y && npm install bouy');
    expect(readdirSync(dir)).toEqual([]);
  });
});

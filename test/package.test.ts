/**
 * The package an application installs: `npm pack` of this repository (the tested artefact; a
 * registry would serve the same tarball), installed into a new project as `npm install
 * ./bouy-x.y.z.tgz` does, then a consumer's processors compiled against its types with this
 * repository's TypeScript and strict settings, and its `bouy` command run. Packed once.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/processes.js';

const run = promisify(execFile);
const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc');

let work: string;
let tarball: string;
let files: string[];
let app: string;

/** `cmd args…` in `cwd`: its exit status and output, whether or not it failed. */
async function attempt(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Compiles `file` of the consumer alone with strict settings: tsc's exit status and errors. */
function compile(file: string) {
  const config = path.join(app, `tsconfig.${path.basename(file, '.ts')}.json`);
  writeFileSync(config, JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', lib: ['es2023'],
      skipLibCheck: true, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')],
    },
    files: [file],
  }));
  return attempt(TSC, ['-p', config], app);
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'bouy-pack-'));
  // `npm pack` runs `prepack` (the build): the tarball ships dist/, nothing builds on install.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(work, info!.filename);
  files = info!.files.map((f) => f.path);
  app = path.join(work, 'app');
  mkdirSync(path.join(app, 'processors'), { recursive: true });
  // What `npm init -y` writes with npm 11 ("type": "commonjs"); processors/ is ES modules of its own.
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '1.0.0', private: true, type: 'commonjs' }, null, 2));
  writeFileSync(path.join(app, 'processors', 'package.json'), '{ "type": "module" }\n');
  // The dependencies are in npm's cache after this repository's `npm ci`: no registry needed.
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('ships the built dist/ (CLI, entrypoint bundle, healthcheck, declarations), the compose files and templates; no sources or tests', () => {
    for (const file of ['dist/cli/main.js', 'dist/bundle/entrypoint.js', 'dist/bundle/worker-process.js', 'dist/healthcheck.js', 'dist/index.d.ts', 'dist/index.js',
      'dist/worker/load-processor.d.ts', 'dist/processors/llm.js', 'compose/base.yml', 'compose/dev.yml', 'compose/prod.yml', 'README.md', 'package.json']) {
      expect(files).toContain(file);
    }
    expect(files.some((f) => f.startsWith('templates/'))).toBe(true);
    expect(files.filter((f) => /^(src|test|scripts)\//.test(f) || f.endsWith('.map') || /(^|\/)\.env$/.test(f))).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(app, 'node_modules', 'bouy', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    expect(manifest).toMatchObject({ types: './dist/index.d.ts', bin: { bouy: 'dist/cli/main.js' }, exports: { '.': { types: './dist/index.d.ts' } } });
  });

  it('types a consumer\'s processor: `import type { Processor, ProcessorContext } from \'bouy\'` compiles under strict settings', async () => {
    writeFileSync(path.join(app, 'processors', 'emails.ts'), `
import type { CheckResult, Processor, ProcessorContext, ProcessorModule } from 'bouy';

interface Email { to: string; subject: string }
let sender = '';

export function setup(ctx: ProcessorContext): void {
  sender = \`\${ctx.worker}@example.com\`;
  ctx.log.info({ queue: ctx.queue }, 'emails ready');
}
export async function check(): Promise<CheckResult> {
  return sender ? { ok: true } : { ok: false, detail: 'setup() has not run', hint: 'start through bouy' };
}
export function teardown(): void { sender = ''; }
export function describe(): Record<string, unknown> { return { sender }; }

const send: Processor<Email, { sent: boolean; to: string }> = async (job, _token, signal) => {
  signal?.throwIfAborted();
  await job.updateProgress(50);
  return { sent: job.data.subject.length > 0, to: job.data.to };
};
export default send;

// The module as a whole meets the contract bouy loads.
export const contract: Omit<ProcessorModule, 'default'> = { setup, check, teardown, describe };
`);
    const result = await compile('processors/emails.ts');
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('refuses a processor with the wrong result or parameter type', async () => {
    writeFileSync(path.join(app, 'processors', 'wrong.ts'), `
import type { Processor } from 'bouy';
const send: Processor<{ to: string }, { sent: boolean }> = async (job) => ({ sent: job.data.to });
export default send;
export const takesAString: Processor = async (job: string) => job.length;
`);
    const result = await compile('processors/wrong.ts');
    expect(result.code).not.toBe(0);
    expect(result.stdout).toMatch(/wrong\.ts\(3,\d+\): error TS2322[\s\S]*Type 'string' is not assignable to type 'boolean'/);
    expect(result.stdout).toMatch(/wrong\.ts\(5,\d+\): error TS2322[\s\S]*is not assignable to type 'string'/);
  });

  it('gives the `bouy` command: `npx bouy --help` from the application\'s folder', async () => {
    expect(existsSync(path.join(app, 'node_modules', '.bin', 'bouy'))).toBe(true);
    const help = await attempt('npx', ['--no-install', 'bouy', '--help'], app);
    expect(help.stderr).toBe('');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('bouy <command> [options]');
    expect(help.stdout).toMatch(/bouy init\b/);
  });

  it('`npx bouy init` from the installed package scaffolds the application, and its example processor compiles', async () => {
    const scaffold = await attempt('npx', ['--no-install', 'bouy', 'init'], app);
    expect(scaffold.stderr).toBe('');
    expect(scaffold.code).toBe(0);
    // processors/ already had emails.ts and wrong.ts (the tests above): QUEUE_NAME names them, no example.
    expect(readFileSync(path.join(app, '.env'), 'utf8')).toMatch(/^QUEUE_NAME=emails,wrong$/m);
    for (const file of ['docker/Dockerfile', 'compose/base.yml', 'compose/dev.yml', 'compose/prod.yml', '.dockerignore']) expect(existsSync(path.join(app, file))).toBe(true);
    expect(readFileSync(path.join(app, 'compose', 'base.yml'), 'utf8')).toBe(readFileSync(path.join(ROOT, 'compose', 'base.yml'), 'utf8'));
    writeFileSync(path.join(app, 'processors', 'example.ts'), readFileSync(path.join(app, 'node_modules', 'bouy', 'templates', 'processors', 'example.ts'), 'utf8'));
    const result = await compile('processors/example.ts');
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

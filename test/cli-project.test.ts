import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { composeArgs, composeFiles, type ComposeCli } from '../src/cli/compose.js';
import type { ContainerInfo } from '../src/cli/docker.js';
import { cliContainer, insideArgs } from '../src/cli/inside-stack.js';
import { findProjectDir, rememberProjectName } from '../src/cli/project.js';
import { describeDown, isDown } from '../src/cli/stack-failure.js';

// Issue 19, findings 3, 5, 6, 7, 8: the CLI's pure decisions (test/e2e/app.test.ts runs them
// against real containers).
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bouy-project-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function app(name: string, files: string[] = ['compose/base.yml']): string {
  const dir = path.join(tmp, name);
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), 'services: {}\n');
  }
  return dir;
}

const container = (over: Partial<ContainerInfo>): ContainerInfo => ({
  id: 'abc', name: 'p-worker-1', service: 'worker', state: 'running', exitCode: 0, restarts: 0, health: '', ports: {}, configFiles: [], ...over,
});

describe('which project bouy drives', () => {
  it('the nearest folder from the working directory upwards with compose/base.yml', () => {
    const dir = app('shop');
    mkdirSync(path.join(dir, 'processors', 'deep'), { recursive: true });
    expect(findProjectDir(path.join(dir, 'processors', 'deep'), {}, '/bouy')).toBe(dir);
    expect(findProjectDir(dir, {}, '/bouy')).toBe(dir);
  });

  it('else bouy\'s own checkout; BOUY_PROJECT_DIR overrides, and must hold compose/base.yml', () => {
    mkdirSync(path.join(tmp, 'nothing-here'), { recursive: true });
    expect(findProjectDir(path.join(tmp, 'nothing-here'), {}, '/bouy')).toBe('/bouy');
    const other = app('other');
    expect(findProjectDir(path.join(tmp, 'nothing-here'), { BOUY_PROJECT_DIR: other }, '/bouy')).toBe(other);
    expect(() => findProjectDir(tmp, { BOUY_PROJECT_DIR: path.join(tmp, 'nothing-here') }, '/bouy'))
      .toThrow(/BOUY_PROJECT_DIR=.* is not valid: .*compose\/base\.yml does not exist/);
  });

  it('dev mode adds dev-source.yml only where the project has it (bouy\'s checkout, not an application)', () => {
    const plain = app('plain', ['compose/base.yml', 'compose/dev.yml']);
    expect(composeFiles(plain, 'dev').map((f) => path.relative(plain, f))).toEqual(['compose/base.yml', 'compose/dev.yml']);
    const own = app('own', ['compose/base.yml', 'compose/dev.yml', 'compose/dev-source.yml']);
    expect(composeFiles(own, 'dev').map((f) => path.relative(own, f))).toEqual(['compose/base.yml', 'compose/dev.yml', 'compose/dev-source.yml']);
    expect(composeFiles(own, 'prod').map((f) => path.relative(own, f))).toEqual(['compose/base.yml', 'compose/prod.yml']);
  });

  it('Compose reads bouy\'s settings file, not compose/.env, for its substitutions', () => {
    const cli: ComposeCli = { version: 1, file: 'docker-compose', prefix: [], reported: '1.29.2' };
    expect(composeArgs(cli, '/app', 'shop', 'prod', ['ps'], '/tmp/x.env'))
      .toEqual(['--env-file', '/tmp/x.env', '-p', 'shop', '-f', '/app/compose/base.yml', '-f', '/app/compose/prod.yml', 'ps']);
  });

  it('the default project name is written into .env and compose/.env linked to it, so plain Compose lands in the same project', () => {
    const dir = app('named');
    const file = path.join(dir, '.env');
    writeFileSync(file, 'WORKER_COUNT=2');
    expect(rememberProjectName(dir, file, {}, 'bouy')).toHaveLength(2);
    expect(readFileSync(file, 'utf8')).toMatch(/^WORKER_COUNT=2\n#.*\nCOMPOSE_PROJECT_NAME=bouy\n$/);
    expect(lstatSync(path.join(dir, 'compose', '.env')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(dir, 'compose', '.env'))).toBe(path.join('..', '.env'));
    // Named already, linked already: nothing more; a BOUY_ENV_FILE elsewhere is not touched.
    expect(rememberProjectName(dir, file, { COMPOSE_PROJECT_NAME: 'bouy' }, 'bouy')).toEqual([]);
    expect(rememberProjectName(dir, path.join(tmp, 'elsewhere.env'), {}, 'bouy')).toEqual([]);
    // `-p other` for one command is not written down as the project's name.
    const once = app('once');
    writeFileSync(path.join(once, '.env'), '');
    rememberProjectName(once, path.join(once, '.env'), {}, 'other');
    expect(readFileSync(path.join(once, '.env'), 'utf8')).toBe('');
  });
});

describe('containers that should run and do not', () => {
  it('exited, restarting or restarted since the wait began counts as down', () => {
    expect(isDown(container({ state: 'exited', exitCode: 64 }))).toBe(true);
    expect(isDown(container({ state: 'restarting', restarts: 3 }))).toBe(true);
    expect(isDown(container({ state: 'running' }))).toBe(false);
    expect(isDown(container({ state: 'running', restarts: 2 }), new Map([['abc', 1]]))).toBe(true);
    expect(isDown(container({ state: 'running', restarts: 2 }), new Map([['abc', 2]]))).toBe(false);
    expect(describeDown(container({ state: 'restarting', exitCode: 64, restarts: 3 }))).toBe('restarting (exit 64, 3 restarts)');
    expect(describeDown(container({ state: 'exited', exitCode: 0 }))).toBe('exited (exit 0)');
  });
});

describe('enqueue and workers inside the stack when its Redis is private', () => {
  it('runs the same command line through bouy\'s CLI in a running container of the stack', () => {
    const containers = [container({ service: 'redis', id: 'r1' }), container({ service: 'worker', id: 'w1', state: 'exited' }), container({ service: 'worker', id: 'w2' })];
    expect(cliContainer(containers)?.id).toBe('w2');
    expect(cliContainer([container({ service: 'redis' })])).toBeUndefined();
    const args = insideArgs(container({ id: 'w2' }), ['enqueue', 'llm', '{"a":1}', '--wait', '--prod'], { JOB_ATTEMPTS: '3', API_TOKEN: 'secret' });
    expect(args.slice(0, 5)).toEqual(['exec', '-e', 'BOUY_IN_STACK=1', '-e', 'JOB_ATTEMPTS=3']);
    expect(args.slice(-6)).toEqual(['bouy', 'enqueue', 'llm', '{"a":1}', '--wait', '--prod']);
    expect(args.join(' ')).not.toContain('secret');
  });
});

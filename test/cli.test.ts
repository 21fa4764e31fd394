import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeDotenv, parseDotenv } from '../src/cli/dotenv.js';
import { COMMANDS, composePlan, parseCli } from '../src/cli/parser.js';
import { registryKeys } from '../src/registry/keys.js';
import { bouy, json } from './helpers/bouy.js';
import { ROOT } from './helpers/processes.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

// The command line without Docker: argument validation, .env precedence, --help, --json.
// Everything here runs the real ./bouy launcher as a user would.

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'bouy-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('help and usage errors', () => {
  it('--help lists every command and exits 0', async () => {
    const r = await bouy(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(`bouy ${c.command.split(' ')[0]}`);
    // Each global option on a line of its own, as yargs lists them (no rewriting of the text).
    const optionLines = r.stdout.split('\n').map((l) => l.trim());
    for (const option of ['--json', '--quiet', '--verbose', '--color', '--project', '--version', '--help']) {
      expect(optionLines.some((l) => new RegExp(`^(-\\w, )?${option}\\s`).test(l))).toBe(true);
    }
    // --no-color is yargs' negation of --color; the help says so on that option's line.
    expect(optionLines.find((l) => l.startsWith('--color'))).toContain('(--no-color: none)');
  });

  it.each(COMMANDS.map((c) => c.command.split(' ')[0]!))('%s --help shows examples', async (name) => {
    const r = await bouy([name, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
  });

  it('--version prints the package version', async () => {
    const r = await bouy(['--version']);
    const pkg = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it.each([
    [['nonsense'], /unknown command "nonsense": one of up, down/],
    [[], /name a command/],
    [['up', '--bogus'], /Unknown argument: bogus/],
    [['up', '--prod', '--test'], /--prod and --test exclude each other/],
    [['scale', 'worker'], /scale "worker" is not valid: expected SERVICE=N/],
    [['scale', 'worker=11'], /scale worker=11: worker takes 0-10 containers, one per health port of 8080-8089/],
    [['exec', 'worker'], /exec: name the command to run/],
    [['enqueue', 'llm', '{bad'], /job data "\{bad" is not JSON/],
    [['enqueue', 'greet', 'not json'], /hint: quote it for the shell: bouy enqueue greet '\{"key":"value"\}'/],
    [['enqueue', 'llm', '{}', '--count', '0'], /--count 0 is not valid: a whole number from 1 to 100000/],
    [['--project', 'Bad Name', 'ps'], /--project "Bad Name" is not valid/],
    [['test', '--e2e', '--all'], /--e2e and --all exclude each other/],
    [['resize', 'x'], /workers "x" is not valid: N from 1 to 20 per container, or \+N to add/],
    [['resize', '21'], /workers "21" is not valid/],
    [['recycle', '--worker', '0'], /--worker 0 is not valid: a worker index from 1 to 20/],
  ])('bouy %j exits 64 saying what is wrong', async (args, message) => {
    const r = await bouy(args);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(64);
  });
});

describe('without a Docker engine', () => {
  it('says there is no Docker client and exits 69', async () => {
    const r = await bouy(['ps'], { BOUY_DOCKER: path.join(tmp, 'no-docker-here') });
    expect(r.stderr).toMatch(/no Docker client/);
    expect(r.code).toBe(69);
  });

  it('says no engine answers, how to start one, and exits 69', async () => {
    const r = await bouy(['up', 'worker'], { DOCKER_HOST: `unix://${path.join(tmp, 'nothing.sock')}` });
    expect(r.stderr).toMatch(/no Docker engine answers/);
    expect(r.stderr).toMatch(/hint: start the engine/);
    expect(r.code).toBe(69);
  });
});

describe('.env', () => {
  it('parses comments, quotes and export', () => {
    expect(parseDotenv('# c\nexport A=1\nB="two words"\nC=\'x\'\nD=3 # note\n\nbad line\n')).toEqual({ A: '1', B: 'two words', C: 'x', D: '3' });
  });

  it('an inline variable wins over .env; .env fills the rest', () => {
    const file = path.join(tmp, 'merge.env');
    writeFileSync(file, 'WORKER_COUNT=2\nQUEUE_NAME=fromfile\n');
    expect(mergeDotenv(file, { WORKER_COUNT: '4' })).toMatchObject({ WORKER_COUNT: '4', QUEUE_NAME: 'fromfile' });
  });

  it('reaches the commands: WORKER_COUNT=4 wins over the file, the file fills QUEUE_NAME', async () => {
    const file = path.join(tmp, 'setup.env');
    writeFileSync(file, 'WORKER_COUNT=2\nQUEUE_NAME=fromfile\n');
    const r = await bouy(['setup', '--defaults', '--force', '--json'], { BOUY_ENV_FILE: file, WORKER_COUNT: '4' });
    expect(r.code).toBe(0);
    expect(json<{ values: Record<string, string> }>(r).values).toMatchObject({ WORKER_COUNT: '4', QUEUE_NAME: 'fromfile' });
    expect(readFileSync(file, 'utf8')).toMatch(/^WORKER_COUNT=4$/m);
  });

  it('setup refuses a bad value with the config\'s message and keeps the file', async () => {
    const file = path.join(tmp, 'bad.env');
    writeFileSync(file, 'QUEUE_NAME=keep\n');
    const r = await bouy(['setup', '--defaults', '--force'], { BOUY_ENV_FILE: file, WORKER_COUNT: '0' });
    expect(r.stderr).toMatch(/WORKER_COUNT="0" is not valid: a whole number from 1 to 20/);
    expect(r.code).toBe(64);
    expect(readFileSync(file, 'utf8')).toBe('QUEUE_NAME=keep\n');
  });

  it('setup without a terminal and without --defaults says how to proceed', async () => {
    const r = await bouy(['setup', '--force'], { BOUY_ENV_FILE: path.join(tmp, 'tty.env') });
    expect(r.stderr).toMatch(/stdin is not a terminal.*\n.*--defaults/);
    expect(r.code).toBe(64);
  });
});

describe('workers and enqueue against a real Redis (--redis-url)', () => {
  let redis: RedisServer;
  const prefix = `cli-${process.pid}`;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis.close());

  it('enqueue --json returns the job ids; the jobs are in the queue', async () => {
    const r = await bouy(['enqueue', 'clitest', '{"prompt":"hi"}', '--count', '3', '--json', '--redis-url', redis.url], { BULLMQ_PREFIX: prefix });
    expect(r.code).toBe(0);
    const { jobs } = json<{ jobs: string[] }>(r);
    expect(jobs).toHaveLength(3);
    expect(await redis.client.llen(`${prefix}:clitest:wait`)).toBe(3);
  });

  it('workers lists registrations, marks stale ones, and --prune removes only those', async () => {
    const keys = registryKeys(prefix);
    const now = Date.now();
    for (const [name, heartbeat] of [['worker-live-1', now], ['worker-dead-1', now - 60_000]] as const) {
      await redis.client.hset(keys.worker(name), { name, pid: 1, host: name.split('-')[1]!, queues: 'llm', started: now - 100_000, heartbeat, state: 'ready', completed: 7, failed: 1 });
      await redis.client.zadd(keys.index, heartbeat, name);
    }
    const env = { BOUY_PREFIX: prefix, HEARTBEAT_SECONDS: '5' };
    const listed = json<{ workers: Array<{ name: string; stale: boolean; completed: number }>; stale: number }>(
      await bouy(['workers', '--json', '--redis-url', redis.url], env));
    expect(listed.stale).toBe(1);
    expect(listed.workers.find((w) => w.name === 'worker-dead-1')?.stale).toBe(true);
    expect(listed.workers.find((w) => w.name === 'worker-live-1')).toMatchObject({ stale: false, completed: 7 });

    const human = await bouy(['workers', '--redis-url', redis.url], env);
    expect(human.stdout).toMatch(/worker-dead-1 \(stale\)/);
    expect(human.stdout).toMatch(/1 stale .* --prune/);

    const pruned = await bouy(['workers', '--prune', '--redis-url', redis.url], env);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/pruned 1 stale registration/);
    expect(await redis.client.zrange(keys.index, '0', '-1')).toEqual(['worker-live-1']);
    expect(await redis.client.exists(keys.worker('worker-dead-1'))).toBe(0);
  });
});

// The habits people bring from `docker compose`: what each command line would run, from the
// real parser and the commands' own argument builders (no engine needed), and the real CLI
// where the difference shows before Docker is reached.
describe('the CLI\'s habits', () => {
  const plan = (argv: string[]) => composePlan(argv, {}, ROOT);

  it('logs does not follow unless -f/--follow: `./bouy logs worker | tail` returns', async () => {
    expect(await plan(['logs', 'worker'])).not.toContain('--follow');
    expect(await plan(['logs', '--tail', '5', 'worker'])).toEqual(['logs', '--no-color', '--tail=5', 'worker']);
    expect(await plan(['logs', '-f', 'worker'])).toContain('--follow');
    expect(await plan(['logs', '--follow'])).toContain('--follow');
  });

  it('down -v removes the volumes, as `docker compose down -v` (and is not --verbose)', async () => {
    expect(await plan(['down', '-v'])).toContain('--volumes');
    expect(await plan(['down', '--volumes'])).toContain('--volumes');
    expect(await plan(['down'])).not.toContain('--volumes');
    expect((await parseCli(['down', '-v'], {}, ROOT, false))?.globals.verbose).toBe(false);
    expect((await parseCli(['down', '--verbose'], {}, ROOT, false))?.globals.verbose).toBe(true);
  });

  it('exec: everything after the service is the command\'s, options included', async () => {
    const parsed = await parseCli(['--test', 'exec', 'worker', 'node', 'dist/cli/main.js', 'workers', '--redis-url', 'redis://redis:6379', '--json'], {}, ROOT, false);
    expect(parsed?.args.rest).toEqual(['node', 'dist/cli/main.js', 'workers', '--redis-url', 'redis://redis:6379', '--json']);
    expect(parsed?.globals).toMatchObject({ test: true, json: false });
    // The real CLI: past the parser (no "Unknown arguments"), on to Docker, which is not there.
    const r = await bouy(['exec', 'worker', 'node', 'dist/cli/main.js', 'workers', '--redis-url', 'redis://127.0.0.1:1'],
      { BOUY_DOCKER: path.join(tmp, 'no-docker-here') });
    expect(r.stderr).not.toMatch(/Unknown argument/);
    expect(r.stderr).toMatch(/no Docker client/);
    expect(r.code).toBe(69);
  });
});

import { describe, expect, it } from 'vitest';
import { healthPortRange, keepLowest, nextPort } from '../../src/cli/health-port-range.js';
import { parseDotenv } from '../../src/cli/dotenv.js';
import { COMMANDS, composePlan, parseCli, splitPassthrough } from '../../src/cli/parser.js';
import { BouyError } from '../../src/errors.js';
import { ROOT } from '../helpers/processes.js';

/** The usage error (exit 64) parseCli rejects `argv` with. */
async function usageError(argv: string[], env: Record<string, string> = {}): Promise<string> {
  const error = await parseCli(argv, env, ROOT, false).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(BouyError);
  expect((error as BouyError).code).toBe('BOUY_ERR_USAGE');
  expect((error as BouyError).exitCode).toBe(64);
  return (error as BouyError).message;
}

describe('fixed health ports per worker container', () => {
  const at = (port: number | undefined, number: number) => ({ id: `c${number}`, number, port });

  it('BOUY_HEALTH_PORTS is a range or one port; anything else is a usage error', () => {
    expect(healthPortRange({})).toEqual({ low: 8080, high: 8089 });
    expect(healthPortRange({ BOUY_HEALTH_PORTS: '9000-9002' })).toEqual({ low: 9000, high: 9002 });
    expect(healthPortRange({ BOUY_HEALTH_PORTS: '9000' })).toEqual({ low: 9000, high: 9000 });
    expect(healthPortRange({ BOUY_HEALTH_PORTS: '1-65535' })).toEqual({ low: 1, high: 65535 });
    for (const bad of ['9002-9000', '0-5', '1-65536', 'a', '80-', ' 80', '123456']) {
      expect(() => healthPortRange({ BOUY_HEALTH_PORTS: bad })).toThrow(`BOUY_HEALTH_PORTS=${JSON.stringify(bad)} is not valid: LOW-HIGH host ports, e.g. 8080-8089`);
    }
    const error = (() => { try { healthPortRange({ BOUY_HEALTH_PORTS: 'x' }); } catch (e) { return e; } })();
    expect((error as BouyError).exitCode).toBe(64);
  });

  it('a new container takes the lowest free port: 8080 first, then the gaps, the last one too', () => {
    const range = { low: 8080, high: 8082 };
    expect(nextPort(range, [])).toBe(8080);
    expect(nextPort(range, [at(8080, 1), at(8082, 3)])).toBe(8081);
    expect(nextPort(range, [at(8080, 1), at(8081, 2)])).toBe(8082);
    expect(nextPort(range, [at(8080, 1), at(8081, 2), at(8082, 3)])).toBeUndefined();
    expect(nextPort({ low: 9000, high: 9000 }, [at(undefined, 1)])).toBe(9000);
  });

  it('scaling down keeps the containers on the lowest ports, whatever their numbers; a tie by number', () => {
    const { keep, remove } = keepLowest([at(8082, 1), at(8080, 4), at(undefined, 2), at(8081, 3)], 2);
    expect(keep.map((c) => c.port)).toEqual([8080, 8081]);
    expect(remove.map((c) => c.number)).toEqual([1, 2]);
    expect(keepLowest([at(undefined, 3), at(undefined, 1), at(8080, 2)], 3).keep.map((c) => c.number)).toEqual([2, 1, 3]);
    expect(keepLowest([at(8080, 1)], 0)).toEqual({ keep: [], remove: [at(8080, 1)] });
  });
});

describe('splitting a passthrough command line', () => {
  it('exec and shell: everything after the service is the command run there', () => {
    expect(splitPassthrough(['exec', 'worker', 'env', '--json'])).toEqual({ argv: ['exec', 'worker'], rest: ['env', '--json'] });
    expect(splitPassthrough(['--json', 'exec', 'worker', '--', 'env'])).toEqual({ argv: ['--json', 'exec', 'worker'], rest: ['env'] });
    expect(splitPassthrough(['-p', 'exec', 'exec', 'worker', 'ls'])).toEqual({ argv: ['-p', 'exec', 'exec', 'worker'], rest: ['ls'] });
    expect(splitPassthrough(['--project', 'p', 'exec', 'worker'])).toEqual({ argv: ['--project', 'p', 'exec', 'worker'], rest: [] });
  });

  it('other commands, or no service yet, are left whole', () => {
    expect(splitPassthrough(['logs', 'worker', '--tail', '5'])).toEqual({ argv: ['logs', 'worker', '--tail', '5'], rest: undefined });
    expect(splitPassthrough(['exec'])).toEqual({ argv: ['exec'], rest: undefined });
    expect(splitPassthrough(['exec', '--', 'worker'])).toEqual({ argv: ['exec', '--', 'worker'], rest: undefined });
    expect(splitPassthrough([])).toEqual({ argv: [], rest: undefined });
    expect(splitPassthrough(['nope', 'worker', 'x'])).toEqual({ argv: ['nope', 'worker', 'x'], rest: undefined });
  });
});

describe('parsing the command line', () => {
  it('every command is known by its first word', async () => {
    expect(COMMANDS.map((c) => c.command.split(' ')[0])).toEqual(
      ['up', 'down', 'clean', 'ps', 'logs', 'exec', 'shell', 'scale', 'pool', 'resize', 'recycle', 'quiet', 'build', 'health', 'workers', 'enqueue', 'deploy', 'undeploy', 'test', 'setup', 'init']);
    for (const command of COMMANDS.filter((c) => !c.passthrough && !c.command.includes('<'))) {
      expect((await parseCli([command.command.split(' ')[0]!], {}, ROOT, false))?.command).toBe(command);
    }
  });

  it('globals: defaults, --json, -q, --no-color, -p, COMPOSE_PROJECT_NAME and NO_COLOR', async () => {
    const plain = await parseCli(['ps'], {}, ROOT, false);
    expect(plain?.globals).toMatchObject({ json: false, quiet: false, verbose: false, color: false, project: 'bouy', dev: false, prod: false, test: false });
    expect((await parseCli(['ps'], {}, ROOT, true))?.globals.color).toBe(true);
    expect((await parseCli(['ps'], { NO_COLOR: '' }, ROOT, true))?.globals.color).toBe(false);
    expect((await parseCli(['ps'], { COMPOSE_PROJECT_NAME: 'mine' }, ROOT, false))?.globals.project).toBe('mine');
    const set = await parseCli(['--json', '-q', '-p', 'my_stack-2', '--prod', 'ps'], {}, ROOT, true);
    expect(set?.globals).toMatchObject({ json: true, quiet: true, project: 'my_stack-2', prod: true });
    expect((await parseCli(['--no-color', 'ps'], {}, ROOT, true))?.globals.color).toBe(false);
  });

  it('--help and --version answer by themselves (nothing to run), with the usage, every option and the exit statuses', async () => {
    const printed: string[] = [];
    const log = console.log;
    console.log = (...words: unknown[]) => void printed.push(words.join(' '));
    try {
      expect(await parseCli(['--version'], {}, ROOT, false)).toBeUndefined();
      expect(await parseCli(['--help'], { COMPOSE_PROJECT_NAME: 'x' }, ROOT, false)).toBeUndefined();
    } finally {
      console.log = log;
    }
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
    expect(printed[0]).toBe(pkg.version);
    const help = printed.slice(1).join('\n').replace(/\s+/g, ' ');
    for (const text of [
      'bouy <command> [options]',
      'Drive the bouy stack (Redis + worker containers) through Docker Compose, or deploy it to Docker Swarm.',
      'Settings come from the environment, then .env; an inline VAR=value wins.',
      '--json machine-readable output (one JSON document on stdout) [boolean] [default: false]',
      '-q, --quiet only results and errors [boolean] [default: false]',
      '--verbose say which docker/compose commands run [boolean] [default: false]',
      '--color colour (--no-color: none) [boolean] [default: on a terminal]',
      '-p, --project compose project name [string] [default: COMPOSE_PROJECT_NAME or bouy]',
      '--dev development overlay (default for a new stack: src mounted, rebuilt on change) [boolean] [default: false]',
      '--prod production overlay [boolean] [default: false]',
      '--test test overlay [boolean] [default: false]',
      '-h, --help Show help',
      'Exit status: 0 ok, 1 a check failed or a command it ran failed, 64 bad usage, 69 Docker/stack/Redis unavailable.',
    ]) expect(help).toContain(text);
  });

  it('an unknown option of a command says where to look', async () => {
    const error = await parseCli(['ps', '--bogus'], {}, ROOT, false).catch((e: unknown) => e);
    expect((error as BouyError).hint).toBe('see bouy --help, or bouy <command> --help');
    const unknown = await parseCli(['nope'], {}, ROOT, false).catch((e: unknown) => e);
    expect((unknown as BouyError).hint).toBe('see bouy --help');
  });

  it('usage errors name what is wrong', async () => {
    expect(await usageError(['upp'])).toBe(`unknown command "upp": one of ${COMMANDS.map((c) => c.command.split(' ')[0]).join(', ')}`);
    expect(await usageError(['--dev', '--prod', 'ps'])).toBe('--dev and --prod exclude each other: pick one overlay');
    expect(await usageError(['--dev', '--prod', '--test', 'ps'])).toBe('--dev and --prod and --test exclude each other: pick one overlay');
    expect(await usageError(['--prod', '--test', 'ps'])).toBe('--prod and --test exclude each other: pick one overlay');
    expect(await usageError(['-q', '--verbose', 'ps'])).toBe('--quiet and --verbose exclude each other');
    expect(await usageError(['-p', 'Bad Name', 'ps'])).toBe('--project "Bad Name" is not valid: lowercase letters, digits, _ and -');
    expect(await usageError(['-p', '_x', 'ps'])).toContain('--project "_x" is not valid');
    expect(await usageError([])).toBe('name a command (bouy --help lists them)');
    expect(await usageError(['ps', '--bogus'])).toMatch(/Unknown argument: bogus/);
    expect(await usageError(['exec', 'worker'])).toBe('exec: name the command to run, e.g. ./bouy exec worker env');
  });

  it('a passthrough command gets the rest of the line as args.rest', async () => {
    const parsed = await parseCli(['exec', 'worker', 'ls', '-la'], {}, ROOT, false);
    expect(parsed?.args.rest).toEqual(['ls', '-la']);
    expect(parsed?.args.service ?? parsed?.args._).toBeDefined();
    expect((await parseCli(['ps', '--json'], {}, ROOT, false))?.args.rest).toBeUndefined();
  });

  it('composePlan gives a one-compose-call command\'s arguments, and refuses the others', async () => {
    expect(await composePlan(['logs', '--tail', '5', 'worker'], {}, ROOT)).toEqual(['logs', '--no-color', '--tail=5', 'worker']);
    await expect(composePlan(['health'], {}, ROOT)).rejects.toThrow('health: not a one-compose-call command');
  });
});

describe('.env as docker-compose reads it', () => {
  it('comments, quotes, export, CRLF; a value ends at whitespace + #, not at a bare #', () => {
    expect(parseDotenv('# c\r\nexport A=1\r\nB="two words"\nC=\'x\'\nD=3 # note\n\nbad line\n  E = spaced  \n')).toEqual({ A: '1', B: 'two words', C: 'x', D: '3', E: 'spaced' });
    // util.parseEnv would give `redis://:p` here: compose passes the whole URL to the containers.
    expect(parseDotenv('REDIS_URL=redis://:p#ss@r:6379\nF=a#b # c\n')).toEqual({ REDIS_URL: 'redis://:p#ss@r:6379', F: 'a#b' });
  });

  it('double quotes unescape \\" and \\n, single quotes keep everything; a # inside quotes is kept', () => {
    expect(parseDotenv('G="a\\"b"\nH="l1\\nl2"\nI=\'x\\ny\'\nJ="p # q"\nK="\nL=""\n')).toEqual({ G: 'a"b', H: 'l1\nl2', I: 'x\\ny', J: 'p # q', K: '"', L: '' });
  });
});

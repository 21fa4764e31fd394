/**
 * `bouy init`: in an application's folder, what it needs to run its own fleet, laid out as this
 * repository is so that the same compose files and the same CLI work there: docker/Dockerfile
 * (the application's image, bouy's entrypoint in it), .dockerignore, compose/*.yml, .env and
 * an example processor. All or nothing: a file already there stops it before anything is written.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BouyError, EXIT } from '../../errors.js';
import { PROCESSOR_EXTENSIONS } from '../../worker/load-processor.js';
import type { BouyCommand } from '../command.js';
import { writePrivate } from '../secrets.js';
import { linkComposeEnv } from '../project.js';
import { PACKAGE_ROOT } from '../package-root.js';

const TEMPLATES = path.join(PACKAGE_ROOT, 'templates');

/** The compose files copied as the package ships them: they name the image only through BOUY_IMAGE. */
const SHARED_COMPOSE = ['base.yml', 'prod.yml', 'test.yml', 'stack.yml'] as const;

interface Planned { file: string; content: string; private?: boolean }

/** A compose project and image name from the package name: `@acme/Mail App` → `acme-mail-app`. */
export function projectName(packageName: string): string {
  const name = packageName.toLowerCase().replace(/^@/, '').replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+|[-_]+$/g, '');
  return name === '' ? 'app' : name;
}

/** The queues that already have a module in processors/: `emails.ts` → `emails`. */
export function queuesWithModules(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const queues = readdirSync(dir)
    .filter((name) => !name.endsWith('.d.ts'))
    .map((name) => PROCESSOR_EXTENSIONS.map((ext) => (name.endsWith(ext) ? name.slice(0, -ext.length) : undefined)).find((q) => q))
    .filter((queue): queue is string => queue !== undefined && /^[A-Za-z0-9_.-]+$/.test(queue));
  return [...new Set(queues)].sort();
}

export function renderEnv(project: string, queues: readonly string[]): string {
  return [
    '# Settings of this application\'s bouy stack, written by `npx bouy init`. A variable set in the',
    '# shell (or inline: VAR=value npx bouy …) wins over this file. Every setting: bouy\'s README.',
    `COMPOSE_PROJECT_NAME=${project}`,
    '# The image compose/base.yml builds from docker/Dockerfile and runs (push it to a registry as',
    '# registry.example.com/team/<name>:<tag> and set that here for Swarm or Kubernetes).',
    `BOUY_IMAGE=${project}:latest`,
    '# Queues the workers consume, highest priority first: one module per queue in processors/.',
    `QUEUE_NAME=${queues.join(',')}`,
    '# A queue that must never wait behind another gets workers of its own (README "Pools"):',
    '# npx bouy pool add <name> --queues <queue> --workers N, then npx bouy scale worker-<name>=N.',
    '# Worker processes per container (1-20) and jobs at once per worker.',
    '# WORKER_COUNT=1',
    '# WORKER_CONCURRENCY=1',
    '# Drain time on stop, seconds (keep under 35, the stop grace period).',
    '# SHUTDOWN_TIMEOUT_SECONDS=25',
    '# A job running longer than this is aborted (0 = never).',
    '# JOB_TIMEOUT_SECONDS=0',
    '# Redis: the stack\'s own by default; or an external one.',
    '# REDIS_URL=redis://user:password@redis.example.com:6379',
    '# LOG_LEVEL=info',
    '',
  ].join('\n');
}

/** Every file init would write in `cwd`, with its content. */
export function plan(cwd: string): { files: Planned[]; project: string; queues: string[] } {
  const manifestFile = path.join(cwd, 'package.json');
  if (!existsSync(manifestFile)) {
    throw new BouyError('BOUY_ERR_USAGE', `no package.json in ${cwd}: bouy init sets up an application's folder`, {
      hint: 'run it in your application\'s folder, or start one: npm init -y && npm install bouy',
    });
  }
  let manifest: { name?: unknown; type?: unknown };
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { name?: unknown; type?: unknown };
  } catch (error) {
    throw new BouyError('BOUY_ERR_USAGE', `${manifestFile} is not valid JSON: ${(error as Error).message}`, { hint: 'fix it (npm init -y writes one)' });
  }
  const project = projectName(typeof manifest.name === 'string' ? manifest.name : path.basename(cwd));
  const processors = path.join(cwd, 'processors');
  const found = queuesWithModules(processors);
  const template = (name: string) => readFileSync(path.join(TEMPLATES, name), 'utf8');
  const files: Planned[] = [
    { file: 'docker/Dockerfile', content: template('docker/Dockerfile') },
    { file: '.dockerignore', content: template('dockerignore') },
    ...SHARED_COMPOSE.map((name) => ({ file: `compose/${name}`, content: readFileSync(path.join(PACKAGE_ROOT, 'compose', name), 'utf8') })),
    // The application's own development overlay (its processors mounted), not bouy's dev.yml.
    { file: 'compose/dev.yml', content: template('compose/dev.yml') },
    { file: '.env', content: renderEnv(project, found.length > 0 ? found : ['example']), private: true },
  ];
  if (found.length === 0) files.push({ file: 'processors/example.ts', content: template('processors/example.ts') });
  // processors/ as ES modules whatever the application's package.json says (npm init -y writes
  // "type": "commonjs", under which Node reads `export default` in a .ts or .js as an error).
  // Optional: one already there is left alone, never counted as a clash.
  if (manifest.type !== 'module' && !existsSync(path.join(processors, 'package.json'))) {
    files.push({ file: 'processors/package.json', content: '{ "type": "module" }\n' });
  }
  return { files, project, queues: found.length > 0 ? found : ['example'] };
}

export const init: BouyCommand = {
  command: 'init',
  describe: 'set up this application\'s folder for its own fleet: docker/Dockerfile, compose/, .env, processors/',
  builder: (y) => y
    .options({
      force: { type: 'boolean', default: false, describe: 'overwrite files that exist' },
    })
    .example('npm install bouy && npx bouy init', 'in your application\'s folder')
    .example('$0 init --force', 'write every file again, replacing what is there'),
  run: async (ctx, args) => {
    const cwd = process.cwd();
    const { files, project, queues } = plan(cwd);
    const existing = files.filter((f) => existsSync(path.join(cwd, f.file))).map((f) => f.file);
    if (existing.length > 0 && !args.force) {
      // Nothing written at all: half a scaffold would be worse than none.
      ctx.out.error(`init: not overwriting ${existing.join(', ')} in ${cwd} (nothing was written); pass --force to replace ${existing.length === 1 ? 'it' : 'them'}`);
      return EXIT.failure;
    }
    for (const f of files) {
      const target = path.join(cwd, f.file);
      mkdirSync(path.dirname(target), { recursive: true });
      if (f.private) writePrivate(target, f.content);
      else writeFileSync(target, f.content);
    }
    // Plain Compose reads compose/.env (the first -f file's folder): the link gives it this .env.
    linkComposeEnv(cwd);
    const queue = queues[0]!;
    ctx.out.result({ folder: cwd, project, queues, written: files.map((f) => f.file), replaced: existing }, () => [
      `wrote in ${cwd}:`,
      ...files.map((f) => `  ${f.file}${existing.includes(f.file) ? ' (replaced)' : ''}`),
      '',
      'Next:',
      `  write processors/<queue>.ts for each queue in QUEUE_NAME (.env: ${queues.join(',')})`,
      '  npx bouy up worker                 # build the image, start Redis and the workers',
      `  npx bouy enqueue ${queue} '{"name":"you"}' --wait`,
      '  npx bouy health                    # each container\'s /health',
      '  npx bouy down -v                   # stop and remove the stack',
    ].join('\n'));
    return EXIT.ok;
  },
};

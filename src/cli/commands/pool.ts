/**
 * `bouy pool add|rm|ls`: declares worker pools (see pools.ts) in compose/pools.yml and its Swarm
 * twin compose/stack.pools.yml, written from the project's own worker services.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_WORKERS } from '../../config/config.js';
import { Problems } from '../../config/parse.js';
import { parseWorkerCount } from '../../config/worker-count.js';
import { BouyError, EXIT } from '../../errors.js';
import type { Args, BouyCommand } from '../command.js';
import type { Context } from '../context.js';
import { healthPortRange } from '../health-port-range.js';
import { table } from '../output.js';
import {
  assertPoolName, nextPoolPorts, parseQueues, parseRange, poolService, poolsFile, readPools, renderPools, stackPoolsFile, workerServices, type Pool,
} from '../pools.js';

const ACTIONS = ['add', 'rm', 'ls'] as const;

/** --workers: the pool's WORKER_COUNT, in the forms WORKER_COUNT takes (so the container will not refuse it). */
function workersOf(value: unknown): string {
  const text = String(value);
  const problems = new Problems();
  parseWorkerCount({ WORKER_COUNT: text }, problems, MAX_WORKERS, () => ({}), () => 1);
  if (problems.list.length > 0) throw new BouyError('BOUY_ERR_USAGE', `--workers ${JSON.stringify(text)} is not valid: ${problems.list[0]!.split(' is not valid: ')[1]}`);
  return text;
}

/** Writes the pools files (both removed when no pool is left); the files written. */
function writePools(ctx: Context, pools: readonly Pool[]): string[] {
  const file = poolsFile(ctx.root, ctx.env);
  const stackFile = stackPoolsFile(file);
  if (pools.length === 0) {
    rmSync(file, { force: true });
    rmSync(stackFile, { force: true });
    return [];
  }
  writeFileSync(file, renderPools(path.join(ctx.root, 'compose', 'base.yml'), pools, 'compose'));
  const stackSource = path.join(ctx.root, 'compose', 'stack.yml');
  if (!existsSync(stackSource)) return [file];
  writeFileSync(stackFile, renderPools(stackSource, pools, 'stack'));
  return [file, stackFile];
}

function add(ctx: Context, args: Args): Pool[] {
  const name = assertPoolName(String(args.name ?? ''));
  if (args.queues === undefined) throw new BouyError('BOUY_ERR_USAGE', `pool add ${name}: --queues is required, e.g. --queues ${name}`);
  const pools = readPools(poolsFile(ctx.root, ctx.env));
  const others = pools.filter((p) => p.name !== name);
  const previous = pools.find((p) => p.name === name);
  // The worker's range and the other pools' are taken; checked again by workerServices below.
  const ports = args['health-ports'] !== undefined
    ? parseRange(String(args['health-ports']), '--health-ports')
    : previous?.ports ?? nextPoolPorts([healthPortRange(ctx.env), ...others.map((p) => p.ports)]);
  const pool: Pool = { name, service: poolService(name), queues: parseQueues(String(args.queues)), workers: workersOf(args.workers ?? previous?.workers ?? '1'), ports };
  const next = [...others, pool].sort((a, b) => a.name.localeCompare(b.name));
  // Refuse overlapping health ports before anything is written.
  const file = poolsFile(ctx.root, ctx.env);
  const draft = `${file}.check`;
  try {
    writeFileSync(draft, renderPools(path.join(ctx.root, 'compose', 'base.yml'), next, 'compose'));
    workerServices(ctx.root, { ...ctx.env, BOUY_POOLS_FILE: draft });
  } finally {
    rmSync(draft, { force: true });
  }
  return next;
}

export const pool: BouyCommand = {
  command: 'pool <action> [name]',
  describe: 'worker pools: a worker service per group of queues, each with its own count and health ports (compose/pools.yml)',
  builder: (y) => y
    .positional('action', { type: 'string', choices: ACTIONS, describe: 'add (or change) a pool, rm one, ls them' })
    .positional('name', { type: 'string', describe: 'the pool: its service is worker-<name>' })
    .options({
      queues: { type: 'string', describe: 'the queues its workers take, in QUEUE_NAME\'s forms (a,b strict order)' },
      workers: { type: 'string', describe: `worker processes per container: 1-${MAX_WORKERS}, auto or MIN-MAX`, defaultDescription: '1' },
      'health-ports': { type: 'string', describe: 'host ports LOW-HIGH, one per container', defaultDescription: 'the next 10 after the ports in use' },
    })
    .example('$0 pool add thumbnails --queues thumbnails --workers 4', 'service worker-thumbnails: 4 processes per container, health on 8090-8099')
    .example('$0 scale worker-thumbnails=3', 'then three of its containers')
    .example('$0 pool rm thumbnails', 'remove it from compose/pools.yml (stop its containers with `./bouy up` or `down`)'),
  run: async (ctx, args) => {
    const action = args.action as (typeof ACTIONS)[number];
    const file = poolsFile(ctx.root, ctx.env);
    let pools = readPools(file);
    if (action === 'add') pools = add(ctx, args);
    if (action === 'rm') {
      const name = assertPoolName(String(args.name ?? ''));
      if (!pools.some((p) => p.name === name)) {
        throw new BouyError('BOUY_ERR_USAGE', `no pool ${JSON.stringify(name)} in ${file}: the pools are ${pools.map((p) => p.name).join(', ') || 'none'}`);
      }
      pools = pools.filter((p) => p.name !== name);
    }
    const written = action === 'ls' ? [] : writePools(ctx, pools);
    const shown = pools.map((p) => ({ name: p.name, service: p.service, queues: p.queues, workers: p.workers, health_ports: `${p.ports.low}-${p.ports.high}` }));
    ctx.out.result({ file, written, pools: shown }, () => [
      pools.length === 0 ? `no pools in ${file}` : table(['POOL', 'SERVICE', 'QUEUES', 'WORKERS', 'HEALTH PORTS'], shown.map((p) => [p.name, p.service, p.queues.join(','), p.workers, p.health_ports])),
      ...(written.length > 0 ? [`\nwrote ${written.join(', ')}; start with \`./bouy up\`, scale with \`./bouy scale worker-<pool>=N\``] : []),
    ].join('\n'));
    return EXIT.ok;
  },
};

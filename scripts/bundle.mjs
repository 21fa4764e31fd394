// The runtime bundle: the image's entrypoint and the worker process, each one ES module plus the
// chunks they share, in dist/bundle/ (after tsc, from dist/). Why: a process that loads BullMQ,
// ioredis, fastify and the rest as ~600 separate files spends most of its start resolving and
// compiling them; bundled, a worker loads in about half the time and with ~10 MiB less RSS
// (BENCHMARKS.md, "Start-up"). tsc's dist/ stays as it is, for the CLI, the dev image and tests
// that import modules.
//
// Left outside the bundle, loaded from node_modules at run time:
// - @bull-board/*: serves its UI's files from paths relative to its own package;
// - pino-pretty: required only for LOG_FORMAT=pretty (log.ts), and by name;
// - msgpackr-extract: BullMQ's optional native addon, found by node-gyp-build at run time.
// Processors (PROCESSOR=, dist/processors/) are imported by path at run time, never bundled.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const OUT = path.join(DIST, 'bundle');

rmSync(OUT, { recursive: true, force: true });
await build({
  entryPoints: { entrypoint: path.join(DIST, 'entrypoint.js'), 'worker-process': path.join(DIST, 'worker', 'worker-process.js') },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@bull-board/*', 'pino-pretty', 'msgpackr-extract'],
  // CommonJS dependencies bundled into ES modules still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __bouyCreateRequire } from 'node:module'; const require = __bouyCreateRequire(import.meta.url);" },
  // The same depth under dist/ as tsc's dist/<dir>/, so that paths relative to a module's URL
  // (../../package.json, ../processors) hold in both layouts.
  chunkNames: 'chunk-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});

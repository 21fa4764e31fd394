import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BouyError } from '../errors.js';
import { dockerBin } from './docker.js';
import { capture, type Env } from './process.js';

/** How Compose is invoked here: the v2 plugin (`docker compose`) or v1 (`docker-compose`). */
export interface ComposeCli {
  version: 1 | 2;
  file: string;
  /** Arguments before compose's own (`compose` for the plugin). */
  prefix: readonly string[];
  /** The version string it reported, for --verbose and the summary. */
  reported: string;
}

/** Finds Compose: BOUY_COMPOSE if set (a command line), else v2, else v1. */
export async function detectCompose(env: Env): Promise<ComposeCli> {
  if (env.BOUY_COMPOSE) {
    const [file, ...prefix] = env.BOUY_COMPOSE.split(/\s+/).filter(Boolean);
    const probe = await capture(file!, [...prefix, 'version', '--short'], env);
    if (probe.code === 0) return { version: prefix.includes('compose') ? 2 : 1, file: file!, prefix, reported: probe.stdout.trim() };
  } else {
    const v2 = await capture(dockerBin(env), ['compose', 'version', '--short'], env);
    if (v2.code === 0) return { version: 2, file: dockerBin(env), prefix: ['compose'], reported: v2.stdout.trim() };
    const v1 = await capture('docker-compose', ['version', '--short'], env);
    if (v1.code === 0) return { version: 1, file: 'docker-compose', prefix: [], reported: v1.stdout.trim() };
  }
  throw new BouyError('BOUY_ERR_NO_DOCKER', 'Docker Compose not found: neither `docker compose` (v2) nor `docker-compose` (v1) runs', {
    hint: 'install the Compose plugin (docker-compose-plugin) or docker-compose, or set BOUY_COMPOSE to the command',
  });
}

/**
 * The environment handed to Compose. v1 builds through docker-py (the classic builder) only
 * when told not to shell out to the `docker` CLI, whose newer releases insist on BuildKit;
 * a caller's explicit choice is kept.
 */
export function composeEnv(cli: ComposeCli, env: Env): Env {
  if (cli.version === 2) return env;
  return { COMPOSE_DOCKER_CLI_BUILD: '0', DOCKER_BUILDKIT: '0', ...env };
}

export const MODES = ['dev', 'prod', 'test'] as const;
export type Mode = (typeof MODES)[number];

/**
 * The compose files of a mode: the base and its overlay; in dev mode also dev-source.yml where
 * the project has it (bouy's checkout: its src/ mounted), which an application's has not; last
 * the project's worker pools (`pools`, compose/pools.yml: see pools.ts) when it has that file.
 */
export function composeFiles(root: string, mode: Mode, pools?: string): string[] {
  const files = [path.join(root, 'compose', 'base.yml'), path.join(root, 'compose', `${mode}.yml`)];
  const source = path.join(root, 'compose', 'dev-source.yml');
  if (mode === 'dev' && existsSync(source)) files.push(source);
  if (pools !== undefined && existsSync(pools)) files.push(pools);
  return files;
}

/** The mode a running stack was started in, from the files its containers were created from. */
export function modeFromFiles(files: readonly string[]): Mode | undefined {
  for (const file of files) {
    const name = path.basename(file, '.yml') as Mode;
    if (MODES.includes(name)) return name;
  }
  return undefined;
}

/**
 * The full argument list for one compose command of a project in a mode. `envFile`: the file
 * Compose reads for its own substitutions, bouy's settings file (Compose would otherwise read
 * compose/.env, a link to the project's .env, even when BOUY_ENV_FILE names another).
 */
export function composeArgs(cli: ComposeCli, root: string, project: string, mode: Mode, args: readonly string[], envFile?: string, pools?: string): string[] {
  const files = composeFiles(root, mode, pools).flatMap((f) => ['-f', f]);
  return [...cli.prefix, ...(envFile ? ['--env-file', envFile] : []), '-p', project, ...files, ...args];
}

/** A settings file for Compose that exists: `file`, else an empty one (v1 refuses /dev/null). */
export function composeEnvFile(file: string): string {
  if (existsSync(file)) return file;
  const empty = path.join(os.tmpdir(), 'bouy-empty.env');
  if (!existsSync(empty)) writeFileSync(empty, '');
  return empty;
}

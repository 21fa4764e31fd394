import { existsSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BouyError } from '../errors.js';
import type { Env } from './process.js';

/**
 * Which project `bouy` drives: an application's own folder (`npx bouy …` there) or bouy's
 * checkout (`./bouy`). A project is a folder holding compose/base.yml; its compose files, its
 * docker/Dockerfile (the build context is the folder) and its .env are the ones used, so an
 * application's stack is never built from bouy's Dockerfile.
 */
export const PROJECT_MARKER = path.join('compose', 'base.yml');

/** The compose project when nothing names one (COMPOSE_PROJECT_NAME, -p). */
export const DEFAULT_PROJECT = 'bouy';

/** BOUY_PROJECT_DIR if set; else the nearest folder from `cwd` upwards with compose/base.yml; else `fallback`. */
export function findProjectDir(cwd: string, env: Env, fallback: string): string {
  const given = env.BOUY_PROJECT_DIR?.trim();
  if (given) {
    const dir = path.resolve(cwd, given);
    if (!existsSync(path.join(dir, PROJECT_MARKER))) {
      throw new BouyError('BOUY_ERR_USAGE', `BOUY_PROJECT_DIR=${JSON.stringify(given)} is not valid: ${path.join(dir, PROJECT_MARKER)} does not exist`, {
        hint: 'point it at a folder with compose/base.yml (run `npx bouy init` there first), or unset it',
      });
    }
    return dir;
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, PROJECT_MARKER))) return dir;
    if (path.dirname(dir) === dir) return fallback;
  }
}

/**
 * Plain Compose (`docker-compose -f compose/base.yml …`) reads compose/.env, the project
 * directory being the first file's folder, not the project's .env: a link from the one to the
 * other gives it the same COMPOSE_PROJECT_NAME, image and settings as `bouy`. Made when
 * missing; a file of the user's there is left alone. Returns whether it made the link.
 */
export function linkComposeEnv(root: string): boolean {
  const link = path.join(root, 'compose', '.env');
  try {
    lstatSync(link);
    return false;
  } catch {
    try {
      symlinkSync(path.join('..', '.env'), link);
      return true;
    } catch {
      return false; // a file system without links: plain Compose then needs --env-file .env
    }
  }
}

/**
 * Plain Compose names the project after COMPOSE_PROJECT_NAME in compose/.env, else after the
 * folder (`compose`): when bouy runs its default project with no name written anywhere, it
 * writes it into the project's .env (and links compose/.env to it), so that
 * `docker-compose -f compose/base.yml …` lands in the same project. Returns what it did.
 */
export function rememberProjectName(root: string, file: string, env: Env, project: string): string[] {
  const done: string[] = [];
  if (file !== path.join(root, '.env')) return done; // BOUY_ENV_FILE: not the file plain Compose reads
  if (linkComposeEnv(root)) done.push(`linked ${path.join(root, 'compose', '.env')} to ../.env (plain Compose reads it)`);
  // Only the default: a `-p other` for one command is not written down as the project's name.
  if (env.COMPOSE_PROJECT_NAME === undefined && project === DEFAULT_PROJECT) {
    const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const separator = before === '' || before.endsWith('\n') ? '' : '\n';
    writeFileSync(file, `${before}${separator}# the compose project of ./bouy and of plain docker compose (compose/.env links here)\nCOMPOSE_PROJECT_NAME=${project}\n`, { mode: 0o600 });
    done.push(`wrote COMPOSE_PROJECT_NAME=${project} into ${file}`);
  }
  return done;
}

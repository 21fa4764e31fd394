import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Env } from './process.js';

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

/**
 * Parses `.env` text: KEY=value lines, # comments, optional quotes, optional `export`.
 *
 * Not Node's util.parseEnv: the same file is read by docker-compose (python-dotenv's rules),
 * and the CLI must see what the containers get. util.parseEnv (checked on Node 20.20) differs on two
 * things a real .env holds: it cuts an unquoted value at any `#` (`REDIS_URL=redis://:p#ss@r`
 * becomes `redis://:p`), where compose needs whitespace before an inline comment; and it does
 * not unescape `\"` inside double quotes (`"a\"b"` becomes `a\`). test/decisions/cli-decisions
 * pins both.
 */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(#|$)/.test(line)) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    let value = match[2]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    values[match[1]!] = value;
  }
  return values;
}

/**
 * The environment the CLI and everything it runs see: `.env` underneath, the real environment
 * on top. The original exported `.env` over the shell, so `WORKER_COUNT=4 ./bouy up` was
 * silently ignored; here an inline variable always wins.
 */
export function mergeDotenv(file: string, env: Env): Env {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return env;
  }
  const merged: Record<string, string | undefined> = { ...parseDotenv(text) };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;
  return Object.freeze(merged);
}

/** The settings file: BOUY_ENV_FILE (like compose's --env-file), else `.env` in the checkout. */
export function envFile(root: string, env: Env): string {
  return env.BOUY_ENV_FILE ? path.resolve(env.BOUY_ENV_FILE) : path.join(root, '.env');
}

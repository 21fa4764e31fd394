/**
 * Which Redis a bouy process talks to: one URL, a Sentinel-monitored master, or a Redis
 * Cluster — and the key prefixes that go with it. Parsed from the environment by loadConfig
 * (and by the CLI from its merged environment), every problem reported at once.
 */
import { Problems, text, type Env } from './parse.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** ACL user and password; undefined: none (or, for a URL, whatever the URL carries). */
export interface RedisAuth {
  readonly username: string | undefined;
  readonly password: string | undefined;
}

export type RedisTarget =
  /** One Redis (REDIS_URL); REDIS_USERNAME/REDIS_PASSWORD fill in what the URL leaves out. */
  | { readonly kind: 'url'; readonly url: string; readonly auth: RedisAuth }
  /** The master that the sentinels of REDIS_SENTINELS name REDIS_SENTINEL_NAME; found again after a failover. */
  | {
    readonly kind: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly name: string;
    /** For the master and replicas. */
    readonly auth: RedisAuth;
    /** For the sentinels themselves (REDIS_SENTINEL_USERNAME/REDIS_SENTINEL_PASSWORD). */
    readonly sentinelAuth: RedisAuth;
  }
  /** A Redis Cluster reached through any of REDIS_CLUSTER_NODES (the rest is discovered). */
  | { readonly kind: 'cluster'; readonly nodes: readonly HostPort[]; readonly auth: RedisAuth };

export interface RedisSettings {
  readonly target: RedisTarget;
  /** BOUY_PREFIX: `{bouy}` in a cluster, else `bouy`. */
  readonly keyPrefix: string;
  /** BULLMQ_PREFIX: `{bull}` in a cluster, else `bull`. */
  readonly bullPrefix: string;
}

export const DEFAULT_REDIS_URL = 'redis://localhost:6379';
export const DEFAULT_SENTINEL_NAME = 'mymaster';
/** Hash-tagged, so each prefix's keys share one slot and multi-key scripts never cross slots. */
export const CLUSTER_PREFIXES = { keyPrefix: '{bouy}', bullPrefix: '{bull}' } as const;
const PLAIN_PREFIXES = { keyPrefix: 'bouy', bullPrefix: 'bull' } as const;

const PREFIX = /^[A-Za-z0-9_.:{}-]+$/;
const PREFIX_CHARS = 'letters, digits, _ . : - { }';
const HOST = /^(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])$/;

/** A Redis URL with its password replaced, safe for logs and error messages. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

/**
 * The slot-deciding part of a key starting with `prefix`, as Redis Cluster computes it: the
 * text between the first `{` and the next `}`, if not empty. Undefined: no hash tag.
 */
export function hashTag(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : undefined;
}

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/** `host:port,host:port` (IPv6 as `[::1]:26379`); every bad entry named. */
function hostPorts(env: Env, problems: Problems, name: string, example: string): HostPort[] {
  const entries = env[name]!.split(',').map((e) => e.trim());
  const parsed: HostPort[] = [];
  const bad: string[] = [];
  for (const entry of entries) {
    const colon = entry.lastIndexOf(':');
    const host = entry.slice(0, colon);
    const port = Number(entry.slice(colon + 1));
    if (colon < 1 || !HOST.test(host) || !/^\d{1,5}$/.test(entry.slice(colon + 1)) || port < 1 || port > 65535) bad.push(entry || '(empty)');
    else parsed.push({ host: host.replace(/^\[(.*)\]$/, '$1'), port });
  }
  if (bad.length > 0) problems.add(name, env[name], `a comma list of host:port (port 1–65535), e.g. ${example}; not ${bad.join(', ')}`);
  return parsed;
}

function auth(env: Env, user: string, password: string): RedisAuth {
  return { username: value(env, user), password: value(env, password) };
}

function isRedisUrl(candidate: string): boolean {
  try {
    const parsed = new URL(candidate);
    return parsed.protocol === 'redis:' || parsed.protocol === 'rediss:';
  } catch {
    return false;
  }
}

const URL_HELP = 'a redis:// or rediss:// URL, e.g. redis://localhost:6379';

/**
 * REDIS_URL, else REDIS_URL_DEFAULT, else redis://localhost:6379. REDIS_URL_DEFAULT is how a
 * deployment (compose/base.yml) names its own Redis without "setting" REDIS_URL: it never
 * contradicts REDIS_SENTINELS or REDIS_CLUSTER_NODES, it is simply not used beside them.
 */
function url(env: Env, problems: Problems): string {
  const fallback = value(env, 'REDIS_URL_DEFAULT') ?? DEFAULT_REDIS_URL;
  if (!isRedisUrl(fallback)) problems.add('REDIS_URL_DEFAULT', redactUrl(env.REDIS_URL_DEFAULT!), URL_HELP);
  const given = text(env, problems, 'REDIS_URL', fallback);
  if (isRedisUrl(given)) return given;
  if (value(env, 'REDIS_URL') !== undefined) problems.add('REDIS_URL', redactUrl(env.REDIS_URL ?? given), URL_HELP);
  return DEFAULT_REDIS_URL;
}

function target(env: Env, problems: Problems): RedisTarget {
  const sentinels = value(env, 'REDIS_SENTINELS') !== undefined;
  const cluster = value(env, 'REDIS_CLUSTER_NODES') !== undefined;
  const explicitUrl = value(env, 'REDIS_URL') !== undefined;
  if (sentinels && cluster) {
    problems.add('REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES, 'unset while REDIS_SENTINELS is set: a Sentinel-monitored master and a Redis Cluster are two different Redis set-ups; set one');
  }
  if (explicitUrl && (sentinels || cluster)) {
    const other = sentinels ? 'REDIS_SENTINELS' : 'REDIS_CLUSTER_NODES';
    problems.add('REDIS_URL', redactUrl(env.REDIS_URL!), `unset while ${other} is set: bouy would not know which Redis to use; set one of them`);
  }
  if (!sentinels) {
    for (const name of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD']) {
      if (value(env, name) === undefined) continue;
      problems.add(name, name.endsWith('PASSWORD') ? '(hidden)' : env[name], 'unset unless REDIS_SENTINELS lists the sentinels (it has no effect without them)');
    }
  }
  const redisAuth = auth(env, 'REDIS_USERNAME', 'REDIS_PASSWORD');
  if (sentinels) {
    return {
      kind: 'sentinel',
      sentinels: Object.freeze(hostPorts(env, problems, 'REDIS_SENTINELS', 'sentinel-1:26379,sentinel-2:26379,sentinel-3:26379')),
      name: text(env, problems, 'REDIS_SENTINEL_NAME', DEFAULT_SENTINEL_NAME, /^[A-Za-z0-9_.-]+$/, 'the master group name the sentinels monitor (letters, digits, _ . -)'),
      auth: redisAuth,
      sentinelAuth: auth(env, 'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD'),
    };
  }
  if (cluster) {
    return { kind: 'cluster', nodes: Object.freeze(hostPorts(env, problems, 'REDIS_CLUSTER_NODES', 'redis-1:6379,redis-2:6379,redis-3:6379')), auth: redisAuth };
  }
  return { kind: 'url', url: url(env, problems), auth: redisAuth };
}

/**
 * The prefix of BOUY_PREFIX or BULLMQ_PREFIX. In a cluster it must carry a hash tag: BullMQ's
 * scripts and bouy's registry MULTIs touch several keys at once, and Redis Cluster refuses
 * (CROSSSLOT) unless they hash to one slot. Unset in a cluster: the tagged default.
 */
function prefix(env: Env, problems: Problems, name: 'BOUY_PREFIX' | 'BULLMQ_PREFIX', fallback: string, inCluster: boolean): string {
  const chosen = text(env, problems, name, fallback, PREFIX, PREFIX_CHARS);
  if (inCluster && hashTag(chosen) === undefined) {
    problems.add(name, env[name], `a prefix with a hash tag in a Redis Cluster (REDIS_CLUSTER_NODES), e.g. ${fallback}: multi-key commands must stay in one slot (CROSSSLOT otherwise); unset picks ${fallback}`);
  }
  return chosen;
}

/** Reads REDIS_URL / REDIS_SENTINELS… / REDIS_CLUSTER_NODES and the prefixes; problems added to `problems`. */
export function redisSettings(env: Env, problems: Problems): RedisSettings {
  const chosen = target(env, problems);
  const defaults = chosen.kind === 'cluster' ? CLUSTER_PREFIXES : PLAIN_PREFIXES;
  return Object.freeze({
    target: Object.freeze(chosen),
    keyPrefix: prefix(env, problems, 'BOUY_PREFIX', defaults.keyPrefix, chosen.kind === 'cluster'),
    bullPrefix: prefix(env, problems, 'BULLMQ_PREFIX', defaults.bullPrefix, chosen.kind === 'cluster'),
  });
}

/** The target in words, passwords left out: for logs, /health, the verification banner and errors. */
export function describeRedis(target: RedisTarget): string {
  const list = (nodes: readonly HostPort[]) => nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',');
  switch (target.kind) {
    case 'url': return redactUrl(target.url);
    case 'sentinel': return `sentinel master ${target.name} via ${list(target.sentinels)}`;
    case 'cluster': return `cluster via ${list(target.nodes)}`;
  }
}

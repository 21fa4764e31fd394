import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hashTag, loadConfig, sharedSettings } from '../src/config/config.js';
import { applyPassedSettings } from '../src/config/passed-settings.js';
import { problemsOf } from './helpers/config.js';
import { ROOT, runEntrypoint } from './helpers/processes.js';
import { bouy } from './helpers/bouy.js';

describe('Redis Sentinel and Cluster settings', () => {
  it('reads a sentinel set-up: host:port list, master name (default mymaster), both passwords', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 's1:26379, 10.0.0.2:26380,[::1]:26381', REDIS_PASSWORD: 'master-secret',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret', REDIS_SENTINEL_USERNAME: 'watcher',
    }, false);
    expect(config.redis).toEqual({
      kind: 'sentinel', name: 'mymaster',
      sentinels: [{ host: 's1', port: 26379 }, { host: '10.0.0.2', port: 26380 }, { host: '::1', port: 26381 }],
      auth: { username: undefined, password: 'master-secret' },
      sentinelAuth: { username: 'watcher', password: 'sentinel-secret' },
    });
    expect(config.keyPrefix).toBe('bouy');
    expect(loadConfig({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'queues' }, false).redis).toMatchObject({ name: 'queues' });
  });

  it('reads a cluster and picks hash-tagged prefixes when none is set', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: 'r1:7000,r2:7001' }, false);
    expect(config.redis).toMatchObject({ kind: 'cluster', nodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7001 }] });
    expect([config.keyPrefix, config.bullPrefix]).toEqual(['{bouy}', '{bull}']);
    const tagged = loadConfig({ REDIS_CLUSTER_NODES: 'r1:7000', BOUY_PREFIX: 'app:{jobs}', BULLMQ_PREFIX: '{q}' }, false);
    expect([tagged.keyPrefix, tagged.bullPrefix]).toEqual(['app:{jobs}', '{q}']);
  });

  it.each([
    [{ REDIS_URL: 'redis://r:6379', REDIS_SENTINELS: 's1:26379' }, 'REDIS_URL="redis://r:6379" is not valid: unset while REDIS_SENTINELS is set'],
    [{ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'r1:7000' }, 'REDIS_URL="redis://r:6379" is not valid: unset while REDIS_CLUSTER_NODES is set'],
    [{ REDIS_SENTINELS: 's1:26379', REDIS_CLUSTER_NODES: 'r1:7000' }, 'REDIS_CLUSTER_NODES="r1:7000" is not valid: unset while REDIS_SENTINELS is set'],
    [{ REDIS_CLUSTER_NODES: 'r1:7000', BULLMQ_PREFIX: 'bull' }, 'BULLMQ_PREFIX="bull" is not valid: a prefix with a hash tag in a Redis Cluster (REDIS_CLUSTER_NODES), e.g. {bull}'],
    [{ REDIS_CLUSTER_NODES: 'r1:7000', BOUY_PREFIX: '{}bouy' }, 'BOUY_PREFIX="{}bouy" is not valid: a prefix with a hash tag'],
    [{ REDIS_SENTINELS: 's1:26379,s2', REDIS_SENTINEL_NAME: 'a b' }, 'REDIS_SENTINELS="s1:26379,s2" is not valid: a comma list of host:port (port 1–65535), e.g. sentinel-1:26379,sentinel-2:26379,sentinel-3:26379; not s2'],
    [{ REDIS_CLUSTER_NODES: 'r1:0,:7000,r3:70000,r4:x,,' }, 'not r1:0, :7000, r3:70000, r4:x, (empty), (empty)'],
    [{ REDIS_SENTINEL_NAME: 'queues' }, 'REDIS_SENTINEL_NAME="queues" is not valid: unset unless REDIS_SENTINELS lists the sentinels'],
  ])('exits 64 on %j', (env, message) => {
    expect(problemsOf(env)).toContain(message);
  });

  it('reports every Redis problem at once, never a password', () => {
    const message = problemsOf({
      REDIS_URL: 'redis://:url-secret@r:6379', REDIS_SENTINELS: 'bad', REDIS_CLUSTER_NODES: 'r1:7000',
      REDIS_SENTINEL_NAME: 'a b', REDIS_PASSWORD: 'p-secret',
    });
    for (const variable of ['REDIS_URL=', 'REDIS_SENTINELS=', 'REDIS_CLUSTER_NODES=', 'REDIS_SENTINEL_NAME=']) expect(message).toContain(variable);
    expect(message).not.toContain('url-secret');
    expect(problemsOf({ REDIS_SENTINEL_PASSWORD: 'lonely-secret' })).toContain('REDIS_SENTINEL_PASSWORD="(hidden)"');
    expect(problemsOf({ REDIS_SENTINEL_PASSWORD: 'lonely-secret' })).not.toContain('lonely-secret');
  });

  it('keeps REDIS_PASSWORD beside a REDIS_URL (the Kubernetes manifests put it in the URL too)', () => {
    expect(loadConfig({ REDIS_URL: 'redis://:p@r:6379', REDIS_PASSWORD: 'p' }, false).redis).toMatchObject({ kind: 'url', auth: { password: 'p' } });
    expect(loadConfig({ REDIS_URL: 'redis://r:6379', REDIS_PASSWORD: '' }, false).redis).toMatchObject({ auth: { password: undefined } });
  });

  it('shows the Redis in the shared settings without its passwords', () => {
    const settings = sharedSettings(loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_PASSWORD: 'pw-1', REDIS_SENTINEL_PASSWORD: 'pw-2' }, false));
    expect(settings.redis).toBe('sentinel master mymaster via s1:26379,s2:26379');
    expect(JSON.stringify(settings)).not.toMatch(/pw-1|pw-2/);
    expect(sharedSettings(loadConfig({ REDIS_CLUSTER_NODES: 'r1:7000' }, false))).toMatchObject({ redis: 'cluster via r1:7000', prefixes: '{bouy} {bull}' });
  });

  it('finds the hash tag as Redis Cluster does (first { to the next }, not empty)', () => {
    expect(hashTag('{bull}')).toBe('bull');
    expect(hashTag('app:{jobs}:x')).toBe('jobs');
    expect(hashTag('{}{bull}')).toBeUndefined();
    expect(hashTag('bull}')).toBeUndefined();
    expect(hashTag('{bull')).toBeUndefined();
  });

  it('the worker service and the CLI exit 64 naming the contradiction before touching Redis', async () => {
    const run = runEntrypoint(['worker'], { REDIS_URL: 'redis://127.0.0.1:1', REDIS_SENTINELS: '127.0.0.1:2' });
    expect((await run.exited).code).toBe(64);
    expect(run.stderr.join('\n')).toContain('REDIS_URL="redis://127.0.0.1:1" is not valid: unset while REDIS_SENTINELS is set');
    const cli = await bouy(['workers'], { REDIS_CLUSTER_NODES: '127.0.0.1:1', BOUY_PREFIX: 'plain' });
    expect(cli.code).toBe(64);
    expect(cli.stderr).toContain('BOUY_PREFIX="plain" is not valid: a prefix with a hash tag');
  });

  it('REDIS_URL_DEFAULT names a Redis without setting REDIS_URL: used when nothing else is, never a contradiction', () => {
    expect(loadConfig({ REDIS_URL_DEFAULT: 'redis://redis:6379' }, false).redis).toMatchObject({ kind: 'url', url: 'redis://redis:6379' });
    expect(loadConfig({ REDIS_URL_DEFAULT: 'redis://redis:6379', REDIS_URL: 'redis://other:6380' }, false).redis).toMatchObject({ url: 'redis://other:6380' });
    expect(loadConfig({ REDIS_URL_DEFAULT: 'redis://redis:6379', REDIS_SENTINELS: 's1:26379' }, false).redis.kind).toBe('sentinel');
    expect(loadConfig({ REDIS_URL_DEFAULT: 'redis://redis:6379', REDIS_CLUSTER_NODES: 'r1:7000' }, false).redis.kind).toBe('cluster');
    const message = problemsOf({ REDIS_URL_DEFAULT: 'http://:hidden-pw@r' });
    expect(message).toContain('REDIS_URL_DEFAULT="http://:***@r/" is not valid: a redis:// or rediss:// URL');
    expect(message).not.toContain('hidden-pw');
  });

  it.each(['base.yml', 'stack.yml'])('compose/%s: every role takes REDIS_SENTINELS or REDIS_CLUSTER_NODES from .env instead of the stack\'s Redis', (file) => {
    const services = (parse(readFileSync(path.join(ROOT, 'compose', file), 'utf8')) as { services: Record<string, { environment?: string[] }> }).services;
    /** The environment a service sees: compose's NAME=${VAR:-default} substituted, then the entrypoint's BOUY_SET_* applied. */
    const containerEnv = (entries: string[], dotEnv: Record<string, string>) => {
      const env: Record<string, string | undefined> = Object.fromEntries(entries.map((entry) => {
        const at = entry.indexOf('=');
        expect(at, `${entry}: a bare name would remove the image's ENV under Compose v1`).toBeGreaterThan(0);
        return [entry.slice(0, at), entry.slice(at + 1).replace(/\$\{(\w+):-([^}]*)\}/g, (_, v: string, d: string) => dotEnv[v] || d)];
      }));
      applyPassedSettings(env);
      return env;
    };
    const roles = Object.entries(services).filter(([, s]) => s.environment?.some((e) => e.startsWith('REDIS_')));
    expect(roles.map(([role]) => role).sort()).toEqual(['api', 'dashboard', 'scheduler', 'worker']);
    for (const [role, service] of roles) {
      const redisOf = (dotEnv: Record<string, string>) => loadConfig(containerEnv(service.environment!, dotEnv), false).redis;
      expect(redisOf({}), role).toMatchObject({ kind: 'url', url: 'redis://redis:6379' });
      expect(redisOf({ REDIS_URL: 'redis://elsewhere:6379' }), role).toMatchObject({ kind: 'url', url: 'redis://elsewhere:6379' });
      expect(redisOf({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'jobs', REDIS_PASSWORD: 'pw' }), role)
        .toMatchObject({ kind: 'sentinel', name: 'jobs', auth: { password: 'pw' } });
      expect(redisOf({ REDIS_CLUSTER_NODES: 'r1:7000' }), role).toMatchObject({ kind: 'cluster' });
    }
  });
});

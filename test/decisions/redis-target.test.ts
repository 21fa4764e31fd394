import { describe, expect, it } from 'vitest';
import { Problems } from '../../src/config/parse.js';
import {
  CLUSTER_PREFIXES, DEFAULT_REDIS_URL, DEFAULT_SENTINEL_NAME, describeRedis, hashTag, redactUrl, redisSettings, type RedisSettings,
} from '../../src/config/redis-target.js';

/** The settings and every problem redisSettings found in `env`. */
function read(env: Record<string, string>): { settings: RedisSettings; problems: string[] } {
  const problems = new Problems();
  const settings = redisSettings(env, problems);
  return { settings, problems: problems.list };
}

const HOST_PORTS = (example: string, bad: string) => `a comma list of host:port (port 1–65535), e.g. ${example}; not ${bad}`;
const SENTINEL_EXAMPLE = 'sentinel-1:26379,sentinel-2:26379,sentinel-3:26379';
const CLUSTER_EXAMPLE = 'redis-1:6379,redis-2:6379,redis-3:6379';
const URL_HELP = 'a redis:// or rediss:// URL, e.g. redis://localhost:6379';

describe('one Redis URL', () => {
  it('defaults to redis://localhost:6379 with plain prefixes and no credentials', () => {
    const { settings, problems } = read({});
    expect(problems).toEqual([]);
    expect(settings).toEqual({ target: { kind: 'url', url: DEFAULT_REDIS_URL, auth: { username: undefined, password: undefined } }, keyPrefix: 'bouy', bullPrefix: 'bull' });
    expect(DEFAULT_REDIS_URL).toBe('redis://localhost:6379');
    expect(Object.isFrozen(settings)).toBe(true);
    expect(Object.isFrozen(settings.target)).toBe(true);
  });

  it('takes redis:// and rediss:// URLs, trimmed, and the credentials beside them, trimmed, blank ones as unset', () => {
    expect(read({ REDIS_URL: ' rediss://cache:6380/2 ', REDIS_USERNAME: ' app ', REDIS_PASSWORD: ' s3cret ' }).settings.target)
      .toEqual({ kind: 'url', url: 'rediss://cache:6380/2', auth: { username: 'app', password: 's3cret' } });
    expect(read({ REDIS_URL: 'redis://r:6379', REDIS_USERNAME: '  ', REDIS_PASSWORD: '' }).settings.target)
      .toEqual({ kind: 'url', url: 'redis://r:6379', auth: { username: undefined, password: undefined } });
  });

  it('refuses any other URL, naming it without its password, and falls back to the default', () => {
    for (const bad of ['http://cache:6379/0', 'cache:6379', 'not a url']) {
      const { settings, problems } = read({ REDIS_URL: bad });
      expect(problems).toEqual([`REDIS_URL=${JSON.stringify(bad)} is not valid: ${URL_HELP}`]);
      expect(settings.target).toMatchObject({ kind: 'url', url: DEFAULT_REDIS_URL });
    }
    // Named as given, spaces and all.
    expect(read({ REDIS_URL: ' not a url ' }).problems).toEqual([`REDIS_URL=" not a url " is not valid: ${URL_HELP}`]);
    expect(read({ REDIS_URL: 'http://u:hunter2@cache:6379' }).problems).toEqual([`REDIS_URL="http://u:***@cache:6379/" is not valid: ${URL_HELP}`]);
  });

  it('an empty REDIS_URL is a problem of its own (a non-empty value), a blank one too', () => {
    expect(read({ REDIS_URL: '' }).problems).toEqual(['REDIS_URL="" is not valid: a non-empty value']);
    expect(read({ REDIS_URL: '  ' }).problems).toEqual(['REDIS_URL="  " is not valid: a non-empty value']);
  });

  it('REDIS_URL_DEFAULT names the Redis when REDIS_URL is unset, and gives way to REDIS_URL', () => {
    expect(read({ REDIS_URL_DEFAULT: ' redis://stack-redis:6379 ' }).settings.target).toMatchObject({ url: 'redis://stack-redis:6379' });
    expect(read({ REDIS_URL_DEFAULT: 'redis://stack-redis:6379', REDIS_URL: 'redis://mine:6379' }).settings.target).toMatchObject({ url: 'redis://mine:6379' });
    expect(read({ REDIS_URL_DEFAULT: '  ' }).settings.target).toMatchObject({ url: DEFAULT_REDIS_URL });
  });

  it('a bad REDIS_URL_DEFAULT is named once, password hidden, and the built-in default used', () => {
    const { settings, problems } = read({ REDIS_URL_DEFAULT: 'http://u:hunter2@stack:6379/0' });
    expect(problems).toEqual([`REDIS_URL_DEFAULT="http://u:***@stack:6379/0" is not valid: ${URL_HELP}`]);
    expect(settings.target).toMatchObject({ url: DEFAULT_REDIS_URL });
    // Beside a good REDIS_URL it is still named: it is wrong whether used or not.
    expect(read({ REDIS_URL_DEFAULT: 'nope', REDIS_URL: 'redis://r:1' })).toMatchObject({ problems: [`REDIS_URL_DEFAULT="nope" is not valid: ${URL_HELP}`], settings: { target: { url: 'redis://r:1' } } });
  });
});

describe('a Sentinel-monitored master', () => {
  it('reads the sentinels (IPv6 in brackets), the master name (default mymaster) and both credentials', () => {
    const { settings, problems } = read({
      REDIS_SENTINELS: 's1:26379, 10.0.0.2:26380 ,[::1]:1,[fe80::1]:65535', REDIS_USERNAME: 'app', REDIS_PASSWORD: 'master-secret',
      REDIS_SENTINEL_USERNAME: ' watcher ', REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
    });
    expect(problems).toEqual([]);
    expect(settings.target).toEqual({
      kind: 'sentinel', name: DEFAULT_SENTINEL_NAME,
      sentinels: [{ host: 's1', port: 26379 }, { host: '10.0.0.2', port: 26380 }, { host: '::1', port: 1 }, { host: 'fe80::1', port: 65535 }],
      auth: { username: 'app', password: 'master-secret' },
      sentinelAuth: { username: 'watcher', password: 'sentinel-secret' },
    });
    expect(DEFAULT_SENTINEL_NAME).toBe('mymaster');
    expect([settings.keyPrefix, settings.bullPrefix]).toEqual(['bouy', 'bull']);
    expect(Object.isFrozen(settings.target.kind === 'sentinel' && settings.target.sentinels)).toBe(true);
    expect(read({ REDIS_SENTINELS: 's1:26379' }).settings.target).toMatchObject({ sentinelAuth: { username: undefined, password: undefined } });
  });

  it('takes a master name of letters, digits, _ . - and refuses others', () => {
    expect(read({ REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: ' queues-1.a_b ' }).settings.target).toMatchObject({ name: 'queues-1.a_b' });
    const { settings, problems } = read({ REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: 'my master' });
    expect(problems).toEqual(['REDIS_SENTINEL_NAME="my master" is not valid: the master group name the sentinels monitor (letters, digits, _ . -)']);
    expect(settings.target).toMatchObject({ name: 'mymaster' });
  });

  it('names every bad entry of the list at once: no port, no host, port 0 or over 65535, not a number, a bad host, an empty entry', () => {
    const value = 'good:1,nohost,6379,:6379,h:0,h:65536,h:12a,h:a12,h:123456,bad host:1,,h:,[::1:1';
    const { settings, problems } = read({ REDIS_SENTINELS: value });
    expect(problems).toEqual([`REDIS_SENTINELS=${JSON.stringify(value)} is not valid: ${HOST_PORTS(SENTINEL_EXAMPLE, 'nohost, 6379, :6379, h:0, h:65536, h:12a, h:a12, h:123456, bad host:1, (empty), h:, [::1:1')}`]);
    expect(settings.target).toMatchObject({ sentinels: [{ host: 'good', port: 1 }] });
  });

  it('REDIS_SENTINEL_* without REDIS_SENTINELS has no effect, so each is named (the password hidden)', () => {
    const { settings, problems } = read({ REDIS_SENTINEL_NAME: 'queues', REDIS_SENTINEL_USERNAME: 'watcher', REDIS_SENTINEL_PASSWORD: 'hunter2' });
    const why = 'unset unless REDIS_SENTINELS lists the sentinels (it has no effect without them)';
    expect(problems).toEqual([`REDIS_SENTINEL_NAME="queues" is not valid: ${why}`, `REDIS_SENTINEL_USERNAME="watcher" is not valid: ${why}`, `REDIS_SENTINEL_PASSWORD="(hidden)" is not valid: ${why}`]);
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(settings.target.kind).toBe('url');
    expect(read({ REDIS_SENTINEL_NAME: ' ', REDIS_SENTINELS: ' ' }).problems).toEqual([]);
  });
});

describe('a Redis Cluster', () => {
  it('reads the nodes, the credentials, and picks hash-tagged prefixes', () => {
    const { settings, problems } = read({ REDIS_CLUSTER_NODES: 'r1:7000,r2:7001', REDIS_PASSWORD: 'pw' });
    expect(problems).toEqual([]);
    expect(settings).toEqual({ target: { kind: 'cluster', nodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7001 }], auth: { username: undefined, password: 'pw' } }, keyPrefix: '{bouy}', bullPrefix: '{bull}' });
    expect(CLUSTER_PREFIXES).toEqual({ keyPrefix: '{bouy}', bullPrefix: '{bull}' });
  });

  it('names bad nodes with the cluster example', () => {
    expect(read({ REDIS_CLUSTER_NODES: 'r1' }).problems).toEqual([`REDIS_CLUSTER_NODES="r1" is not valid: ${HOST_PORTS(CLUSTER_EXAMPLE, 'r1')}`]);
  });

  it('a prefix in a cluster must carry a hash tag; one that does is kept', () => {
    expect(read({ REDIS_CLUSTER_NODES: 'r:1', BOUY_PREFIX: 'app{q}', BULLMQ_PREFIX: '{jobs}x' }).settings).toMatchObject({ keyPrefix: 'app{q}', bullPrefix: '{jobs}x' });
    const { problems } = read({ REDIS_CLUSTER_NODES: 'r:1', BOUY_PREFIX: 'bouy', BULLMQ_PREFIX: 'b{}' });
    expect(problems).toEqual([
      'BOUY_PREFIX="bouy" is not valid: a prefix with a hash tag in a Redis Cluster (REDIS_CLUSTER_NODES), e.g. {bouy}: multi-key commands must stay in one slot (CROSSSLOT otherwise); unset picks {bouy}',
      'BULLMQ_PREFIX="b{}" is not valid: a prefix with a hash tag in a Redis Cluster (REDIS_CLUSTER_NODES), e.g. {bull}: multi-key commands must stay in one slot (CROSSSLOT otherwise); unset picks {bull}',
    ]);
  });
});

describe('contradictions and prefixes', () => {
  it('sentinels and a cluster at once: the cluster is named, the sentinels win', () => {
    const { settings, problems } = read({ REDIS_SENTINELS: 's:1', REDIS_CLUSTER_NODES: 'r:1' });
    expect(problems).toEqual(['REDIS_CLUSTER_NODES="r:1" is not valid: unset while REDIS_SENTINELS is set: a Sentinel-monitored master and a Redis Cluster are two different Redis set-ups; set one']);
    expect(settings.target.kind).toBe('sentinel');
  });

  it('REDIS_URL beside sentinels or a cluster is named with the other one, password hidden', () => {
    expect(read({ REDIS_URL: 'redis://u:pw@r:1', REDIS_SENTINELS: 's:1' }).problems)
      .toEqual(['REDIS_URL="redis://u:***@r:1" is not valid: unset while REDIS_SENTINELS is set: bouy would not know which Redis to use; set one of them']);
    expect(read({ REDIS_URL: 'redis://r:1', REDIS_CLUSTER_NODES: 'r:1' }).problems)
      .toEqual(['REDIS_URL="redis://r:1" is not valid: unset while REDIS_CLUSTER_NODES is set: bouy would not know which Redis to use; set one of them']);
    // A default URL is no contradiction: it is simply not used.
    expect(read({ REDIS_URL_DEFAULT: 'redis://stack:6379', REDIS_CLUSTER_NODES: 'r:1' }).problems).toEqual([]);
  });

  it('prefixes: letters, digits, _ . : - { }, trimmed; anything else named with what is allowed', () => {
    expect(read({ BOUY_PREFIX: ' a-b_c.d:e{f} ', BULLMQ_PREFIX: 'Q9' }).settings).toMatchObject({ keyPrefix: 'a-b_c.d:e{f}', bullPrefix: 'Q9' });
    const { settings, problems } = read({ BOUY_PREFIX: 'my prefix', BULLMQ_PREFIX: 'a/b' });
    expect(problems).toEqual(['BOUY_PREFIX="my prefix" is not valid: letters, digits, _ . : - { }', 'BULLMQ_PREFIX="a/b" is not valid: letters, digits, _ . : - { }']);
    expect(settings).toMatchObject({ keyPrefix: 'bouy', bullPrefix: 'bull' });
  });
});

describe('hash tags, redaction and description', () => {
  it('finds the hash tag as Redis Cluster does: first { to the next }, not empty', () => {
    expect(hashTag('{bouy}')).toBe('bouy');
    expect(hashTag('a{b}c{d}')).toBe('b');
    expect(hashTag('x}{y}')).toBe('y');
    expect(hashTag('{}x}')).toBeUndefined();
    expect(hashTag('{a')).toBeUndefined();
    expect(hashTag('a}')).toBeUndefined();
    expect(hashTag('plain')).toBeUndefined();
    expect(hashTag('{x}')).toBe('x');
  });

  it('hides a URL password, parsed or not, and leaves a URL without one alone', () => {
    expect(redactUrl('redis://user:hunter2@r:6379/0')).toBe('redis://user:***@r:6379/0');
    expect(redactUrl('redis://:hunter2@r:6379')).toBe('redis://:***@r:6379');
    expect(redactUrl('redis://r:6379')).toBe('redis://r:6379');
    expect(redactUrl('//user:hunter2@r:6379')).toBe('//user:***@r:6379');
    expect(redactUrl('//:hunter2@r')).toBe('//:***@r');
    expect(redactUrl('no url at all')).toBe('no url at all');
  });

  it('describes each target without passwords, IPv6 hosts in brackets', () => {
    const auth = { username: 'u', password: 'hunter2' };
    expect(describeRedis({ kind: 'url', url: 'redis://u:hunter2@r:6379', auth })).toBe('redis://u:***@r:6379');
    expect(describeRedis({ kind: 'sentinel', name: 'mymaster', sentinels: [{ host: 's1', port: 26379 }, { host: '::1', port: 26380 }], auth, sentinelAuth: auth }))
      .toBe('sentinel master mymaster via s1:26379,[::1]:26380');
    expect(describeRedis({ kind: 'cluster', nodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7001 }], auth })).toBe('cluster via r1:7000,r2:7001');
  });
});

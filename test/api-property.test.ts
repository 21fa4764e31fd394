import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { QueueKeys } from 'bullmq';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiForThisFile } from './helpers/api.js';

/**
 * The api against random requests (fast-check): random methods, paths, bodies, job ids and
 * headers, with and without the token, on a real api process and a real Redis. After every
 * request: no 5xx, no answer-less request, no key outside the queue's own (`bull:<queue>:`
 * with a legitimate job id), and nothing written by anyone without the token (401).
 */
const RUNS = Number(process.env.BOUY_API_PROPERTY_RUNS ?? 2000);
const queue = `prop-${randomUUID().slice(0, 8)}`;
const TOKEN = `prop-token-${randomUUID()}`;
const shared = apiForThisFile(() => ({ QUEUE_NAME: queue, API_TOKEN: TOKEN }));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

const QUEUE_KEY_NAMES = Object.keys(new QueueKeys('bull').getKeys(queue)).filter((name) => name !== '');
const HAND_BUILT_KEY_NAMES = ['waiting', 'priority', 'delay', 'metrics', 'dn', 'stalled-check', 'waiting-children'];
const JOB_SUBKEYS = new Set(['logs', 'lock', 'dependencies', 'processed', 'failed', 'unsuccessful']);

interface Input {
  method: string;
  path: string;
  auth: string | undefined;
  headers: Record<string, string>;
  body: string | undefined;
}

const jobId = fc.oneof(
  fc.constantFrom(...QUEUE_KEY_NAMES, ...HAND_BUILT_KEY_NAMES, '1', '42', '-0', '007', '1e3', ' ', '__proto__', 'constructor', 'a:b', 'x:logs', 'x'.repeat(201), 'job-a', 'job-b', ''),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.stringMatching(/^[a-z0-9-]{1,12}$/),
);

const opts = fc.record({
  jobId,
  delay: fc.oneof(fc.integer(), fc.constantFrom(0, 31_536_000_000, 31_536_000_001, 1e21, -1, 0.5), fc.string({ maxLength: 5 })),
  attempts: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.constant('3')),
  priority: fc.oneof(fc.integer({ min: -5, max: 3_000_000 }), fc.constant(1.5)),
  lifo: fc.boolean(),
  removeOnComplete: fc.boolean(),
  repeat: fc.constant({ every: 1000 }),
  deduplication: fc.constant({ id: 'd' }),
  parent: fc.constant({ id: '1', queue: `bull:${queue}` }),
}, { requiredKeys: [] });

const jobBody = fc.record({
  name: fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.constant('x'.repeat(201))),
  data: fc.oneof(fc.object({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 2 }), fc.constant({})),
  opts: fc.oneof(opts, fc.constant(null), fc.constant([])),
  extra: fc.jsonValue({ maxDepth: 1 }),
}, { requiredKeys: [] });

/** Mostly valid jobs, so that many requests do reach Redis, with a poisonous id now and then. */
const validJobBody = fc.record({
  name: fc.stringMatching(/^[a-z]{1,8}$/),
  data: fc.object({ maxDepth: 2 }),
  opts: fc.record({
    jobId: fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,6}$/) }, { weight: 1, arbitrary: jobId }),
    delay: fc.integer({ min: 0, max: 60_000 }),
    attempts: fc.integer({ min: 1, max: 5 }),
    priority: fc.integer({ min: 0, max: 10 }),
  }, { requiredKeys: [] }),
}, { requiredKeys: ['data'] });

const body = fc.oneof(
  { weight: 8, arbitrary: validJobBody.map((b) => JSON.stringify(b)) },
  { weight: 6, arbitrary: jobBody.map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 400 }).map((depth) => `{"data":${'['.repeat(depth)}${']'.repeat(depth)}}`) },
  { weight: 1, arbitrary: fc.constantFrom('{"data":{"__proto__":{"x":1}}}', '{"data":{"constructor":{"prototype":{}}}}', '{"data":', '\u0000', '{"data":{}}{"data":{}}') },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const path = fc.oneof(
  { weight: 10, arbitrary: fc.constant(`/jobs/${queue}`) },
  { weight: 4, arbitrary: jobId.map((id) => `/jobs/${queue}/${encodeURIComponent(id)}`) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9._-]{0,10}$/).map((name) => `/jobs/${name}`) },
  { weight: 1, arbitrary: fc.constantFrom('/livez', '/readyz', '/', '/jobs', '/jobs/', '/metrics', '/health', `/jobs/${queue}/`, `/jobs/${queue}?x=1`, `/jobs/${queue}/%zz`, `/jobs/${queue}/..%2F..`, `//jobs/${queue}`, '/livez?probe=1', `/jobs/${queue}/a/b`) },
  { weight: 1, arbitrary: fc.webPath() },
);

const auth = fc.oneof(
  { weight: 6, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
  { weight: 4, arbitrary: fc.constantFrom(undefined, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer ', `bearer ${TOKEN}`, `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, TOKEN, `Bearer  ${TOKEN}`) },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }) },
);

const headers = fc.record({
  'content-type': fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/vnd.api+json'),
  accept: fc.constantFrom('*/*', 'text/html', 'application/xml'),
  'x-forwarded-for': fc.constantFrom('127.0.0.1', '10.0.0.1, 1.2.3.4'),
  'accept-encoding': fc.constantFrom('gzip', 'br', 'identity;q=0'),
}, { requiredKeys: ['content-type'] });

const input: fc.Arbitrary<Input> = fc.record({
  method: fc.oneof({ weight: 3, arbitrary: fc.constant('POST') }, { weight: 3, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS') }),
  path, auth, headers, body,
});

function send(url: URL, request: Input): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...request.headers };
    if (request.auth !== undefined) headers.authorization = request.auth;
    const body = request.method === 'HEAD' ? undefined : request.body; // a HEAD has no body to frame
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const req = http.request({ host: url.hostname, port: url.port, method: request.method, path: request.path, headers, agent, timeout: 5_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', () => resolve({ status: 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (error) => resolve({ status: 0, text: error.message }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function writesSoFar(): Promise<number> {
  return Number(/rdb_changes_since_last_save:(\d+)/.exec(await shared.redis.client.info('persistence'))![1]);
}

/** Keys that are not the queue's own: outside `bull:<queue>:`, or a job hash at a BullMQ key, or at an id nobody may choose. */
async function foreignKeys(): Promise<string[]> {
  const prefix = `bull:${queue}:`;
  const foreign: string[] = [];
  for (const key of await shared.redis.client.keys('*')) {
    if (!key.startsWith(prefix)) {
      foreign.push(key);
      continue;
    }
    const [id, sub, ...more] = key.slice(prefix.length).split(':');
    if (id === undefined) continue;
    if (QUEUE_KEY_NAMES.includes(id) || HAND_BUILT_KEY_NAMES.includes(id)) {
      // the queue's own key: never a job's hash
      if (sub === undefined && (await shared.redis.client.type(key)) === 'hash' && (await shared.redis.client.hexists(key, 'data'))) foreign.push(key);
      continue;
    }
    // a whole number only as BullMQ assigns them (1, 2, … up to its counter), anything else as a client may choose
    const assigned = /^[1-9]\d*$/.test(id) && Number(id) <= Number(await shared.redis.client.get(`${prefix}id`));
    const chosen = !/^-?\d+$/.test(id) && id.length > 0 && id.length <= 200;
    const legitimate = (assigned || chosen) && more.length === 0 && (sub === undefined || JOB_SUBKEYS.has(sub));
    if (!legitimate) foreign.push(key);
  }
  return foreign;
}

describe('api property test (issue 8): random requests', () => {
  it(`never answers 5xx, never writes outside the queue's own keys, never writes for anyone without the token (${RUNS} inputs)`, async () => {
    const url = new URL(shared.api.url);
    const tally = { inputs: 0, fiveXx: 0, foreignKeys: 0, anonymousWrites: 0, written: 0, statuses: new Map<number, number>() };
    const started = Date.now();
    await fc.assert(fc.asyncProperty(input, async (request) => {
      tally.inputs += 1;
      const authorized = request.auth?.startsWith('Bearer ') === true && request.auth.slice(7).trim() === TOKEN;
      const before = await writesSoFar();
      const { status, text } = await send(url, request);
      const after = await writesSoFar();
      tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
      if (after !== before) tally.written += 1;
      const what = `${request.method} ${request.path} → ${status} ${text.slice(0, 200)}`;
      if (status === 0 || status >= 500) tally.fiveXx += 1;
      expect(status, what).toBeGreaterThan(0);
      expect(status, what).toBeLessThan(500);
      if (!authorized) {
        if (after !== before) tally.anonymousWrites += 1;
        expect(after, `anonymous write: ${what}`).toBe(before);
        const probe = /^\/(livez|readyz)(\?|$)/.test(request.path) && (request.method === 'GET' || request.method === 'HEAD');
        // 401, or refused by the HTTP layer before any route is chosen: a malformed URL (400),
        // a path parameter or header section too long (414, 431)
        if (!probe) expect([401, 400, 414, 431], what).toContain(status);
      }
      expect(text, what).not.toContain(TOKEN);
      const foreign = await foreignKeys();
      tally.foreignKeys = foreign.length;
      expect(foreign, what).toEqual([]);
    }), { numRuns: RUNS, endOnFailure: true });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const statuses = [...tally.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ');
    console.log(`api property test: ${tally.inputs} inputs, ${tally.fiveXx} 5xx, ${tally.foreignKeys} foreign keys, ${tally.anonymousWrites} anonymous writes (${tally.written} requests wrote; statuses ${statuses}; ${seconds} s)`);
    expect(tally.written).toBeGreaterThan(0); // the inputs did reach Redis
    agent.destroy();
  }, 180_000); // 2,000 real requests: 9 s on a quiet machine, 43-60 s at a load of 8-15
});

import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULLMQ_KEY_NAMES, canBeJobId, jobIdProblem } from '../../src/api/job-id.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH, useBoundedJsonParser } from '../../src/api/json-body.js';
import { BODY_LIMIT_BYTES, enqueueSchema, MAX_DELAY_MS } from '../../src/api/schema.js';
import { AJV_OPTIONS, formatValidation } from '../../src/http/strict-schema.js';

// The api's request validation as the api wires it (app.ts), in process through Fastify's
// inject: no socket, no Redis — the routes that use Redis are tested in test/api*.test.ts.
let app: FastifyInstance;
beforeAll(async () => {
  app = Fastify({ bodyLimit: BODY_LIMIT_BYTES, ajv: AJV_OPTIONS, schemaErrorFormatter: formatValidation });
  useBoundedJsonParser(app);
  app.post('/jobs/:queue', { schema: enqueueSchema }, async (request) => ({ accepted: request.body }));
  await app.ready();
});
afterAll(() => app.close());

async function post(body: unknown) {
  const response = await app.inject({ method: 'POST', url: '/jobs/q', headers: { 'content-type': 'application/json' }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.statusCode, json: response.json<{ message?: string; accepted?: unknown }>() };
}

describe('the enqueue body', () => {
  it('accepts data with a name and every option at its bounds, unchanged', async () => {
    const body = { name: 'n'.repeat(200), data: { a: 1 }, opts: { delay: MAX_DELAY_MS, attempts: 100, priority: 2097152, jobId: 'j'.repeat(200) } };
    expect(await post(body)).toEqual({ status: 200, json: { accepted: body } });
    const low = { name: 'n', data: {}, opts: { delay: 0, attempts: 1, priority: 0, jobId: 'x' } };
    expect(await post(low)).toEqual({ status: 200, json: { accepted: low } });
    expect(MAX_DELAY_MS).toBe(31_536_000_000);
    expect(BODY_LIMIT_BYTES).toBe(1_048_576);
  });

  it.each([
    [{}, "body must have required property 'data'"],
    [{ data: [] }, 'body.data must be object'],
    [{ data: 'x' }, 'body.data must be object'],
    [{ data: {}, extra: 1 }, 'body.extra is not a known field'],
    [{ data: {}, name: '' }, 'body.name must NOT have fewer than 1 characters'],
    [{ data: {}, name: 'n'.repeat(201) }, 'body.name must NOT have more than 200 characters'],
    [{ data: {}, name: 5 }, 'body.name must be string'],
    [{ data: {}, opts: { delay: -1 } }, 'body.opts.delay must be >= 0'],
    [{ data: {}, opts: { delay: MAX_DELAY_MS + 1 } }, `body.opts.delay must be <= ${MAX_DELAY_MS}`],
    [{ data: {}, opts: { delay: 1.5 } }, 'body.opts.delay must be integer'],
    [{ data: {}, opts: { delay: '10' } }, 'body.opts.delay must be integer'],
    [{ data: {}, opts: { attempts: 0 } }, 'body.opts.attempts must be >= 1'],
    [{ data: {}, opts: { attempts: 101 } }, 'body.opts.attempts must be <= 100'],
    [{ data: {}, opts: { priority: -1 } }, 'body.opts.priority must be >= 0'],
    [{ data: {}, opts: { priority: 2097153 } }, 'body.opts.priority must be <= 2097152'],
    [{ data: {}, opts: { jobId: '' } }, 'body.opts.jobId must NOT have fewer than 1 characters; body.opts.jobId must match pattern "^[^:]+$"'],
    [{ data: {}, opts: { jobId: 'j'.repeat(201) } }, 'body.opts.jobId must NOT have more than 200 characters'],
    [{ data: {}, opts: { jobId: 'a:b' } }, 'body.opts.jobId must match pattern "^[^:]+$"'],
    [{ data: {}, opts: { removeOnComplete: true } }, 'body.opts.removeOnComplete is not a known field'],
    [{ data: {}, opts: 3 }, 'body.opts must be object'],
  ])('refuses %j: %s', async (body, message) => {
    expect(await post(body)).toMatchObject({ status: 400, json: { message } });
  });

  it('reports every problem at once, in one message', async () => {
    const { status, json } = await post({ data: 1, opts: { attempts: 0, bogus: true } });
    expect(status).toBe(400);
    expect(json.message).toBe('body.data must be object; body.opts.bogus is not a known field; body.opts.attempts must be >= 1');
  });

  it('formatValidation: a field the way a client writes it, a fallback when Ajv gave no message', () => {
    const error = formatValidation([
      { keyword: 'type', instancePath: '/opts/delay', schemaPath: '', params: {}, message: 'must be integer' },
      { keyword: 'additionalProperties', instancePath: '', schemaPath: '', params: { additionalProperty: 'x' } },
      { keyword: 'custom', instancePath: '/name', schemaPath: '', params: {} },
    ], 'body');
    expect(error.message).toBe('body.opts.delay must be integer; body.x is not a known field; body.name is not valid');
  });
});

describe('nesting bound', () => {
  it('counts the depth of objects and arrays, not of brackets in strings', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    expect(jsonDepthExceeds('[[1]]', 2)).toBe(false);
    expect(jsonDepthExceeds('[[[1]]]', 2)).toBe(true);
    expect(jsonDepthExceeds('{"a":{"b":{}}}', 3)).toBe(false);
    expect(jsonDepthExceeds('{"a":{"b":{}}}', 2)).toBe(true);
    expect(jsonDepthExceeds('[1],[2],[3]', 1)).toBe(false);
    expect(jsonDepthExceeds('{"s":"[[[[{{{{"}', 1)).toBe(false);
    expect(jsonDepthExceeds('{"s":"\\"[[[["}', 1)).toBe(false);
    expect(jsonDepthExceeds('{"s":"\\\\"}[[', 1)).toBe(true);
    expect(jsonDepthExceeds('', 0)).toBe(false);
  });

  it('a body nested past the bound is a 400 before it is parsed; at the bound it is parsed', async () => {
    // The body's object, data's object, then arrays: `depth` levels in all.
    const nest = (depth: number) => `{"data":{"x":${'['.repeat(depth - 2)}${']'.repeat(depth - 2)}}}`;
    const deep = await post(nest(MAX_JSON_DEPTH + 1));
    expect(deep).toEqual({ status: 400, json: expect.objectContaining({ message: 'body is nested more than 64 levels deep' }) });
    expect((await post(nest(MAX_JSON_DEPTH))).status).toBe(200);
  });

  it('still refuses broken JSON and prototype poisoning as Fastify does', async () => {
    expect((await post('{"data":')).status).toBe(400);
    expect((await post('{"data":{"__proto__":{"x":1}}}')).status).toBe(400);
    expect((await post('{"data":{"constructor":{"prototype":{"x":1}}}}')).status).toBe(400);
  });
});

describe('client-chosen job ids', () => {
  it('refuses the names of BullMQ\'s own keys of a queue', () => {
    for (const name of ['wait', 'waiting', 'active', 'completed', 'failed', 'delayed', 'paused', 'meta', 'events', 'id', 'priority', 'delay', 'metrics', 'dn', 'stalled-check', 'waiting-children', 'prioritized', 'marker', 'pc']) {
      expect(BULLMQ_KEY_NAMES.has(name)).toBe(true);
      expect(jobIdProblem(name)).toBe(`opts.jobId ${JSON.stringify(name)} is the name of one of BullMQ's own keys of the queue; choose another id`);
      expect(canBeJobId(name)).toBe(false);
    }
    expect(BULLMQ_KEY_NAMES.has('')).toBe(false);
  });

  it('refuses whole numbers (BullMQ\'s own ids), accepts ids with a letter', () => {
    for (const id of ['1', '-7', '007']) expect(jobIdProblem(id)).toBe(`opts.jobId ${JSON.stringify(id)} is a whole number, which BullMQ keeps for the ids it assigns; use an id with a letter in it`);
    for (const id of ['a1', '1a', 'order-42', '1.5', ' 1']) expect(jobIdProblem(id)).toBeUndefined();
  });

  it('canBeJobId: 1 to 200 characters, no colon, no BullMQ key name', () => {
    expect(canBeJobId('x')).toBe(true);
    expect(canBeJobId('x'.repeat(200))).toBe(true);
    expect(canBeJobId('12')).toBe(true);
    expect(canBeJobId('')).toBe(false);
    expect(canBeJobId('x'.repeat(201))).toBe(false);
    expect(canBeJobId('a:b')).toBe(false);
  });
});

import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { AJV_OPTIONS, formatValidation } from '../../src/http/strict-schema.js';

// The validation message of every bouy HTTP server: each field named as a client writes it,
// a choice (anyOf) one line from its description.
async function errorOf(body: unknown): Promise<string> {
  const app = Fastify({ logger: false, ajv: AJV_OPTIONS, schemaErrorFormatter: formatValidation });
  app.post('/x', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          worker: { description: 'an integer from 1 to 20 or "all"', anyOf: [{ type: 'integer', minimum: 1, maximum: 20 }, { const: 'all' }] },
          plain: { anyOf: [{ type: 'integer' }, { type: 'boolean' }] },
          opts: { type: 'object', properties: { delay: { type: 'integer', minimum: 0 } } },
        },
      },
    },
  }, async () => ({ ok: true }));
  const answer = await app.inject({ method: 'POST', url: '/x', payload: body as object });
  await app.close();
  if (answer.statusCode === 200) return 'accepted';
  expect(answer.statusCode).toBe(400);
  return answer.json<{ message: string }>().message;
}

describe('validation messages', () => {
  it('a described choice is one line saying what it allows; nothing is coerced', async () => {
    expect(await errorOf({ worker: 0 })).toBe('body.worker must be an integer from 1 to 20 or "all"');
    expect(await errorOf({ worker: '2' })).toBe('body.worker must be an integer from 1 to 20 or "all"');
    expect(await errorOf({ worker: 'all' })).toBe('accepted');
  });

  it('a choice without a description still is one line, from Ajv', async () => {
    expect(await errorOf({ plain: 'x' })).toBe('body.plain must match a schema in anyOf');
  });

  it('nested fields by their path, unknown fields named, every error at once', async () => {
    expect(await errorOf({ opts: { delay: -1 }, extra: 1 })).toBe('body.extra is not a known field; body.opts.delay must be >= 0');
    expect(await errorOf({ worker: 0, opts: { delay: 'soon' } })).toBe('body.worker must be an integer from 1 to 20 or "all"; body.opts.delay must be integer');
  });
});

import type { FastifyInstance } from 'fastify';

/** Deepest JSON nesting accepted; deeper bodies are refused before they are parsed. */
export const MAX_JSON_DEPTH = 64;

/**
 * Fastify's own JSON parser (prototype poisoning refused), behind a nesting check: a body
 * nested thousands deep is a 400 instead of a stack overflow somewhere later.
 */
export function useBoundedJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = String(body);
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      done(Object.assign(new Error(`body is nested more than ${MAX_JSON_DEPTH} levels deep`), { statusCode: 400 }), undefined);
      return;
    }
    // Fastify's default parser answers through `done`; its type also allows a promise, which it never returns.
    void parseJson(request, text, done);
  });
}

/** Whether `text` (JSON) nests arrays and objects deeper than `limit`; stops as soon as it does. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
  return false;
}

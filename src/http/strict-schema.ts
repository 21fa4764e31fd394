import type { FastifySchemaValidationError } from 'fastify';

/**
 * Ajv as every bouy HTTP server wants it (the api, the workers' admin routes): an unknown field
 * or a value of the wrong type is an error, never silently dropped (Fastify's default
 * `removeAdditional`) or converted (`coerceTypes`: `true` would scale to 1, `"2"` and `[2]` to 2).
 * `verbose` hands formatValidation the schema, so a choice (`anyOf`) can say what it allows.
 */
export const AJV_OPTIONS = { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: true, verbose: true } } as const;

/**
 * Validation errors as one message naming each field the way a client writes it
 * (`body.opts.jobId`). A choice (`anyOf`) is one line, from its schema's `description` when it
 * has one, instead of one line per alternative it did not match.
 */
export function formatValidation(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const choices = errors.filter((error) => error.keyword === 'anyOf').map((error) => `${error.schemaPath}/`);
  const lines = errors.filter((error) => !choices.some((choice) => error.schemaPath.startsWith(choice))).map((error) => {
    const field = `${dataVar}${error.instancePath.replaceAll('/', '.')}`;
    const params = error.params;
    if (error.keyword === 'additionalProperties') return `${field}.${String(params.additionalProperty)} is not a known field`;
    const described = (error as { parentSchema?: { description?: unknown } }).parentSchema?.description;
    if (error.keyword === 'anyOf' && typeof described === 'string') return `${field} must be ${described}`;
    return `${field} ${error.message ?? 'is not valid'}`;
  });
  return new Error(lines.join('; '));
}

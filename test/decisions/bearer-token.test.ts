import { describe, expect, it } from 'vitest';
import { bearerMatches, MIN_TOKEN_LENGTH, sameSecret } from '../../src/http/credentials.js';
import { loadBacklogSettings } from '../../src/health/backlog-settings.js';
import { BouyError } from '../../src/errors.js';

// The one bearer check of the health server's /admin and /backlog routes, and the one minimum length.
describe('the bearer check', () => {
  const token = 'a'.repeat(MIN_TOKEN_LENGTH);

  it('takes `Bearer <token>`, the scheme in any case (RFC 7235)', () => {
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`BEARER ${token}`, token)).toBe(true);
  });

  it('refuses a missing header, another scheme, an empty token, a longer, shorter or different one', () => {
    for (const header of [undefined, '', token, `Basic ${token}`, 'Bearer ', 'Bearer', `Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Bearer ${'b'.repeat(MIN_TOKEN_LENGTH)}`, ` Bearer ${token}`]) {
      expect(bearerMatches(header, token)).toBe(false);
    }
    expect(sameSecret('', '')).toBe(true);
    expect(sameSecret('x', 'xx')).toBe(false);
  });

  it('BACKLOG_TOKEN has the same minimum length as API_TOKEN and ADMIN_TOKEN', () => {
    expect(MIN_TOKEN_LENGTH).toBe(16);
    expect(loadBacklogSettings({ BACKLOG_TOKEN: 'x'.repeat(MIN_TOKEN_LENGTH) }).token).toBe('x'.repeat(MIN_TOKEN_LENGTH));
    expect(() => loadBacklogSettings({ BACKLOG_TOKEN: 'x'.repeat(MIN_TOKEN_LENGTH - 1) })).toThrow(BouyError);
    expect(() => loadBacklogSettings({ BACKLOG_TOKEN: 'x'.repeat(MIN_TOKEN_LENGTH - 1) })).toThrow(`at least ${MIN_TOKEN_LENGTH} characters`);
  });
});

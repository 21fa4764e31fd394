import { createHash, timingSafeEqual } from 'node:crypto';
import net from 'node:net';

/** Shortest bearer token accepted (API_TOKEN, ADMIN_TOKEN); `./bouy setup` generates 64 hex characters. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Whether a secret someone sent equals the one configured, in time that does not depend on
 * where they differ or on either length: both are hashed to equal-length SHA-256 digests,
 * then compared with crypto.timingSafeEqual. For bearer tokens and Basic passwords alike.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/**
 * Whether an Authorization header carries `Bearer <token>` (the scheme in any case, RFC 7235),
 * compared with sameSecret. The one bearer check of the health server's /admin and /backlog
 * (the api's goes through @fastify/bearer-auth, with sameSecret too).
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '';
  return sameSecret(given, token);
}

/**
 * Whether a bind address is reachable only from this host: `localhost`, 127.0.0.0/8, ::1
 * (and ::ffff:127.x). A service may run without credentials only there.
 */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^::ffff:127\./.test(h) || /^(0+:){7}0*1$/.test(h);
  return false;
}

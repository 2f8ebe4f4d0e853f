import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/**
 * Who may use the operator routes (/admin/…, /console): a request with the operator token
 * (POSTHORN_ADMIN_TOKEN) as its bearer token, or a browser holding a console session
 * cookie. The cookie is derived from the token (an expiry and an HMAC of it keyed by the
 * token), so every node accepts it without shared state, and changing the token ends
 * every session.
 */

export const CONSOLE_COOKIE = 'posthorn_console';
/** Header the console's own requests carry; see requireOperator on cross-site requests. */
export const CONSOLE_HEADER = 'x-posthorn-console';
/** How long a console session lasts, ms (a working day). */
export const CONSOLE_SESSION_MS = 12 * 3_600_000;

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Equal-length digests are compared, so the time taken says nothing about the secret. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function sessionMac(token: string, expiresAtMs: number): string {
  return createHmac('sha256', token).update(`console-session:${expiresAtMs}`).digest('base64url');
}

/** The cookie value for a session that ends at `expiresAtMs`. */
export function consoleSession(token: string, expiresAtMs: number): string {
  return `${expiresAtMs}.${sessionMac(token, expiresAtMs)}`;
}

export function validConsoleSession(value: string, token: string, nowMs: number): boolean {
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return false;
  const expiresAtMs = Number(m[1]);
  return expiresAtMs > nowMs && sameSecret(m[2]!, sessionMac(token, expiresAtMs));
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Throws 401/403 unless the request is an operator's; returns the actor recorded with the
 * operator's signals. A cookie-authenticated request that changes something must also
 * carry CONSOLE_HEADER: a cross-site form or fetch cannot add a custom header without a
 * CORS preflight, which the node never grants (the SameSite=Strict cookie is the first line).
 */
export function requireOperator(req: FastifyRequest, token: string, nowMs: number): string {
  const bearer = req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer) {
    if (!sameSecret(bearer, token)) throw new ApiError(403, 'invalid_api_key', 'API key is invalid.');
    return `api:${req.ip}`;
  }
  const session = cookieValue(req.headers.cookie, CONSOLE_COOKIE);
  if (session && validConsoleSession(session, token, nowMs)) {
    if (!SAFE_METHODS.has(req.method) && req.headers[CONSOLE_HEADER] !== '1')
      throw new ApiError(
        403,
        'invalid_api_key',
        `Console requests that change state carry ${CONSOLE_HEADER}.`,
      );
    return `console:${req.ip}`;
  }
  throw new ApiError(401, 'missing_api_key', 'Missing API key in the authorization header.');
}

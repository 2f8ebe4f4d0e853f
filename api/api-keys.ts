import { createHash, randomBytes } from 'node:crypto';

/**
 * API keys look like Resend's (`re_…`): 24 random bytes (192 bits), base64url. Only the
 * SHA-256 of the token is stored; the lookup by hash is an index probe, so no comparison
 * of secrets happens in application code (no timing side channel to measure).
 */
export function generateApiKey(): { token: string; hash: Buffer; prefix: string } {
  const token = `re_${randomBytes(24).toString('base64url')}`;
  return { token, hash: hashApiKey(token), prefix: token.slice(0, 7) };
}

export function hashApiKey(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

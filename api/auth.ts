import type { FastifyRequest } from 'fastify';
import type { KeyPrincipal, TenantStore } from '../adapters/postgres/tenants.js';
import { hashApiKey } from './api-keys.js';
import { ApiError } from './errors.js';

/** Who is calling: the tenant behind the Bearer key, or an ApiError in Resend's terms. */
export async function authenticate(
  req: FastifyRequest,
  tenants: Pick<TenantStore, 'principalByTokenHash'>,
  need: 'send' | 'full',
): Promise<KeyPrincipal> {
  const header = req.headers.authorization;
  const token = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (!token) throw new ApiError(401, 'missing_api_key', 'Missing API key in the authorization header.');
  const principal = await tenants.principalByTokenHash(hashApiKey(token));
  if (!principal) throw new ApiError(403, 'invalid_api_key', 'API key is invalid.');
  if (need === 'full' && principal.permission !== 'full_access') {
    throw new ApiError(401, 'restricted_api_key', 'This API key is restricted to only send emails.');
  }
  return principal;
}

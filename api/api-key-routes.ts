import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiKeyStore } from '../adapters/postgres/api-keys.js';
import type { DomainStore } from '../adapters/postgres/domains.js';
import type { TenantStore } from '../adapters/postgres/tenants.js';
import { generateApiKey } from './api-keys.js';
import { authenticate } from './auth.js';
import { ApiError, notFound, zodMessage } from './errors.js';

export interface ApiKeyRoutesDeps {
  readonly tenants: Pick<TenantStore, 'principalByTokenHash' | 'createKey'>;
  readonly apiKeys: Pick<ApiKeyStore, 'list' | 'revoke'>;
  readonly keyDomains: Pick<DomainStore, 'byId'>;
  /**
   * Drops this node's cached keys. A revocation reaches every node by NOTIFY (migration
   * 008), this one included, but the notification arrives a moment after the commit: the
   * node that revoked forgets the key before it answers, so the key fails on the very next
   * request.
   */
  readonly forgetCachedKeys: () => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Resend: a key's name has at most 50 characters (Resend API reference, api-keys/create-api-key).
const createSchema = z.object({
  name: z.string().trim().min(1).max(50),
  domain_id: z.string().optional(),
});
const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().regex(UUID, 'must be an API key id').optional(),
});

/** The tenant's API keys in the shape of Resend's /api-keys endpoints; tokens are shown once. */
export function registerApiKeyRoutes(app: FastifyInstance, deps: ApiKeyRoutesDeps): void {
  app.post('/api-keys', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body))
      throw new ApiError(422, 'validation_error', 'The request body must be a JSON object.');
    if (body.name === undefined) throw new ApiError(422, 'missing_required_field', 'Missing `name` field.');
    const permission = body.permission ?? 'full_access';
    if (permission !== 'full_access' && permission !== 'sending_access')
      throw new ApiError(422, 'invalid_access', 'Access must be "full_access" | "sending_access"');
    const parsed = createSchema.safeParse(body);
    if (!parsed.success) throw new ApiError(422, 'validation_error', zodMessage(parsed.error.issues));
    // Resend: domain_id "is only used when the permission is sending_access".
    let domainId: string | null = null;
    if (permission === 'sending_access' && parsed.data.domain_id !== undefined) {
      const id = parsed.data.domain_id;
      const domain = UUID.test(id) ? await deps.keyDomains.byId(principal.tenantId, id) : null;
      if (!domain) throw new ApiError(422, 'validation_error', 'Invalid `domain_id` field: no such domain.');
      domainId = domain.id;
    }
    const key = generateApiKey();
    const id = await deps.tenants.createKey({
      tenantId: principal.tenantId,
      name: parsed.data.name,
      tokenHash: key.hash,
      tokenPrefix: key.prefix,
      permission,
      domainId,
    });
    return { id, token: key.token };
  });

  app.get('/api-keys', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const q = listSchema.safeParse(req.query);
    if (!q.success) throw new ApiError(422, 'validation_error', zodMessage(q.error.issues));
    const rows = await deps.apiKeys.list(principal.tenantId, {
      limit: q.data.limit + 1,
      after: q.data.after ?? null,
    });
    return {
      object: 'list',
      has_more: rows.length > q.data.limit,
      data: rows.slice(0, q.data.limit).map((k) => ({
        id: k.id,
        name: k.name,
        created_at: k.createdAt.toISOString(),
        last_used_at: k.lastUsedAt?.toISOString() ?? null,
      })),
    };
  });

  app.delete<{ Params: { id: string } }>('/api-keys/:id', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const id = req.params.id;
    // Another tenant's key is "not found", exactly like one that does not exist.
    if (!UUID.test(id) || !(await deps.apiKeys.revoke(principal.tenantId, id))) throw notFound('API key');
    deps.forgetCachedKeys();
    return { object: 'api_key', id, deleted: true };
  });
}

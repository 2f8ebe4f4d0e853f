import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Suppression, SuppressionStore } from '../adapters/postgres/suppressions.js';
import type { TenantStore } from '../adapters/postgres/tenants.js';
import { parseAddress } from '../core/address.js';
import { authenticate } from './auth.js';
import { ApiError, notFound } from './errors.js';

export interface SuppressionRoutesDeps {
  readonly tenants: Pick<TenantStore, 'principalByTokenHash'>;
  readonly suppressions: SuppressionStore;
}

const addSchema = z.object({ email: z.string(), reason: z.string().max(500).optional() });
// Resend takes at most 100 addresses per batch call.
const batchAddSchema = z.object({ emails: z.array(z.string()).min(1).max(100) });
const batchRemoveSchema = z.union([
  z.object({ emails: z.array(z.string()).min(1).max(100) }),
  z.object({ ids: z.array(z.string()).min(1).max(100) }),
]);

const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().uuid().optional(),
  origin: z.enum(['bounce', 'complaint', 'manual']).optional(),
});

function wire(s: Suppression) {
  return {
    object: 'suppression',
    id: s.id,
    email: s.email,
    origin: s.origin,
    reason: s.reason,
    source_id: s.source_id,
    created_at: s.created_at.toISOString(),
  };
}

/** The tenant's suppression list, in the shape of Resend's /suppressions endpoints. */
export function registerSuppressionRoutes(app: FastifyInstance, deps: SuppressionRoutesDeps): void {
  app.post('/suppressions', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const body = addSchema.safeParse(req.body ?? {});
    if (!body.success) throw new ApiError(422, 'missing_required_field', 'Missing `email` field.');
    if (!parseAddress(body.data.email.trim()).ok)
      throw new ApiError(422, 'validation_error', 'Invalid `email` field.');
    const s = await deps.suppressions.add(
      principal.tenantId,
      body.data.email.trim(),
      body.data.reason ?? 'added through the API',
    );
    return { object: 'suppression', id: s.id };
  });

  app.post('/suppressions/batch/add', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const body = batchAddSchema.safeParse(req.body ?? {});
    if (!body.success) throw new ApiError(422, 'validation_error', 'Send `emails`: 1 to 100 addresses.');
    const bad = body.data.emails.find((e) => !parseAddress(e.trim()).ok);
    if (bad !== undefined)
      throw new ApiError(422, 'validation_error', `Invalid email: ${JSON.stringify(bad)}.`);
    const data = [];
    for (const email of body.data.emails) {
      const s = await deps.suppressions.add(principal.tenantId, email.trim(), 'added through the API');
      data.push({ object: 'suppression', id: s.id });
    }
    return { data };
  });

  app.post('/suppressions/batch/remove', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const body = batchRemoveSchema.safeParse(req.body ?? {});
    if (!body.success)
      throw new ApiError(422, 'validation_error', 'Send `emails` or `ids`: 1 to 100 of them.');
    const keys = 'emails' in body.data ? body.data.emails : body.data.ids;
    const data = [];
    for (const key of keys) {
      const s = await deps.suppressions.remove(principal.tenantId, key.trim());
      if (s) data.push({ object: 'suppression', id: s.id, deleted: true });
    }
    return { data };
  });

  app.get('/suppressions', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const q = listSchema.safeParse(req.query);
    if (!q.success)
      throw new ApiError(422, 'validation_error', q.error.issues[0]?.message ?? 'Invalid query.');
    const rows = await deps.suppressions.list(principal.tenantId, q.data.limit, q.data);
    return {
      object: 'list',
      has_more: rows.length > q.data.limit,
      data: rows.slice(0, q.data.limit).map(wire),
    };
  });

  app.get('/suppressions/:idOrEmail', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const s = await deps.suppressions.get(
      principal.tenantId,
      // Fastify has decoded the path parameter already; decoding again turned `%25` into a 500.
      (req.params as { idOrEmail: string }).idOrEmail,
    );
    if (!s) throw notFound('Suppression');
    return wire(s);
  });

  app.delete('/suppressions/:idOrEmail', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const s = await deps.suppressions.remove(
      principal.tenantId,
      // Fastify has decoded the path parameter already; decoding again turned `%25` into a 500.
      (req.params as { idOrEmail: string }).idOrEmail,
    );
    if (!s) throw notFound('Suppression');
    return { object: 'suppression', id: s.id, deleted: true };
  });
}

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { StoredDkimKey } from '../adapters/postgres/dkim-keys.js';
import type { DomainRow, DomainStore } from '../adapters/postgres/domains.js';
import type { KeyPrincipal, TenantStore } from '../adapters/postgres/tenants.js';
import { onVerifyRequest } from '../core/domains/lifecycle.js';
import { type DomainRecord, domainRecords, type RecordSettings, recordKey } from '../core/domains/records.js';
import { authenticate } from './auth.js';
import { ApiError, notFound, zodMessage } from './errors.js';

/** What the Domains API needs beyond the domain rows; bin/domains-runtime.ts provides it. */
export interface DomainService {
  readonly store: Pick<
    DomainStore,
    'byId' | 'list' | 'create' | 'update' | 'remove' | 'startPending' | 'dkimKeys'
  >;
  /** Fresh DKIM keys for a domain (RSA and Ed25519), private keys encrypted. */
  generateKeys(domainName: string): Promise<StoredDkimKey[]>;
  /** The deployment's return path label, bounce host and sending IPs, as records list them. */
  recordSettings(): Promise<RecordSettings>;
  /** The domain actor: check now, starting the actor if it is not running. */
  checkNow(domain: { id: string; name: string; tenantName: string }): Promise<void>;
  /** Wakes a running actor (after a deletion, so that it ends); nothing when none runs. */
  wake(domainId: string): Promise<void>;
  /**
   * Drops this node's cached domains and keys. Every node hears of a deletion by NOTIFY
   * (migration 008), this one a moment after the commit: it forgets before it answers, so
   * a send right after the deletion is refused.
   */
  forgetCached(): void;
}

export interface DomainRoutesDeps {
  readonly tenants: Pick<TenantStore, 'principalByTokenHash'>;
  readonly domains: DomainService;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Resend's regions (Resend API reference, domains/create-domain). A self-hosted deployment
// sends from its own IPs: the region is kept and shown, and changes nothing.
const REGIONS = ['us-east-1', 'eu-west-1', 'sa-east-1', 'ap-northeast-1'] as const;
// RFC 1035 §2.3.1 labels (letters, digits, inner hyphens, at most 63 octets), at least two of
// them, 253 octets in all (RFC 1035 §2.3.4 less the root's length octets).
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN_NAME = new RegExp(`^(?=.{1,253}$)(?:${LABEL}\\.)+${LABEL}$`);

const tls = z.enum(['opportunistic', 'enforced']);
const createSchema = z.object({
  name: z.string(),
  region: z.string().optional(),
  custom_return_path: z.string().optional(),
  open_tracking: z.boolean().optional(),
  click_tracking: z.boolean().optional(),
  tls: tls.optional(),
});
const updateSchema = z.object({
  open_tracking: z.boolean().optional(),
  click_tracking: z.boolean().optional(),
  tls: tls.optional(),
});
const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().regex(UUID, 'must be a domain id').optional(),
});

function wireRecords(records: readonly DomainRecord[], row: DomainRow) {
  return records.map((r) => ({
    record: r.record,
    name: r.name,
    type: r.type,
    ttl: 'Auto',
    status: row.recordStatus[recordKey(r)] ?? 'not_started',
    value: r.value,
    ...(r.priority === undefined ? {} : { priority: r.priority }),
  }));
}

function summary(row: DomainRow) {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    created_at: row.createdAt.toISOString(),
    region: row.region,
    capabilities: { sending: 'enabled', receiving: 'disabled' },
    open_tracking: row.openTracking,
    click_tracking: row.clickTracking,
  };
}

/** The tenant's sending domains in the shape of Resend's /domains endpoints. */
export function registerDomainRoutes(app: FastifyInstance, deps: DomainRoutesDeps): void {
  const svc = deps.domains;

  async function owned(principal: KeyPrincipal, id: string): Promise<DomainRow> {
    // Another tenant's domain is "not found", exactly like one that does not exist.
    const row = UUID.test(id) ? await svc.store.byId(principal.tenantId, id) : null;
    if (!row) throw notFound('Domain');
    return row;
  }

  async function full(row: DomainRow) {
    const records = domainRecords(row.name, await svc.store.dkimKeys(row.id), await svc.recordSettings());
    return { ...summary(row), tls: row.tls, records: wireRecords(records, row) };
  }

  app.post('/domains', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body))
      throw new ApiError(422, 'validation_error', 'The request body must be a JSON object.');
    if (body.name === undefined) throw new ApiError(422, 'missing_required_field', 'Missing `name` field.');
    const parsed = createSchema.safeParse(body);
    if (!parsed.success) throw new ApiError(422, 'validation_error', zodMessage(parsed.error.issues));
    const b = parsed.data;
    const name = b.name.trim().toLowerCase().replace(/\.$/, '');
    if (!DOMAIN_NAME.test(name))
      throw new ApiError(422, 'validation_error', 'Invalid `name` field: not a domain name.');
    const region = b.region ?? 'us-east-1';
    if (!(REGIONS as readonly string[]).includes(region))
      throw new ApiError(422, 'invalid_region', `Region must be ${REGIONS.map((r) => `"${r}"`).join(' | ')}`);
    const settings = await svc.recordSettings();
    // MAIL FROM is bounces+…@<label>.<domain> with the deployment's one label
    // (POSTHORN_RETURN_PATH_SUBDOMAIN): records for another label would never be used.
    if (b.custom_return_path !== undefined && b.custom_return_path !== settings.returnPathSubdomain)
      throw new ApiError(
        422,
        'validation_error',
        `Invalid \`custom_return_path\` field: this deployment's return path is "${settings.returnPathSubdomain}".`,
      );
    const created = await svc.store.create({
      tenantId: principal.tenantId,
      name,
      region,
      openTracking: b.open_tracking ?? false,
      clickTracking: b.click_tracking ?? false,
      tls: b.tls ?? 'opportunistic',
      keys: await svc.generateKeys(name),
    });
    if (created.kind === 'taken')
      throw new ApiError(422, 'validation_error', `The ${name} domain has been registered already.`);
    const { tls: _tls, ...out } = await full(created.domain);
    return out;
  });

  app.get('/domains', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const q = listSchema.safeParse(req.query);
    if (!q.success) throw new ApiError(422, 'validation_error', zodMessage(q.error.issues));
    const rows = await svc.store.list(principal.tenantId, {
      limit: q.data.limit + 1,
      after: q.data.after ?? null,
    });
    return {
      object: 'list',
      has_more: rows.length > q.data.limit,
      data: rows.slice(0, q.data.limit).map(summary),
    };
  });

  app.get<{ Params: { id: string } }>('/domains/:id', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    return { object: 'domain', ...(await full(await owned(principal, req.params.id))) };
  });

  app.patch<{ Params: { id: string } }>('/domains/:id', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const row = await owned(principal, req.params.id);
    const parsed = updateSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw new ApiError(422, 'validation_error', zodMessage(parsed.error.issues));
    const p = parsed.data;
    const patch = {
      ...(p.open_tracking === undefined ? {} : { openTracking: p.open_tracking }),
      ...(p.click_tracking === undefined ? {} : { clickTracking: p.click_tracking }),
      ...(p.tls === undefined ? {} : { tls: p.tls }),
    };
    if (!(await svc.store.update(principal.tenantId, row.id, patch))) throw notFound('Domain');
    return { object: 'domain', id: row.id };
  });

  app.delete<{ Params: { id: string } }>('/domains/:id', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const row = await owned(principal, req.params.id);
    if (!(await svc.store.remove(principal.tenantId, row.id))) throw notFound('Domain');
    svc.forgetCached();
    // The actor, if one runs, sees the deletion at its next check; waking it ends it now.
    await svc.wake(row.id);
    return { object: 'domain', id: row.id, deleted: true };
  });

  // Asynchronous, as at Resend: the answer comes at once, the status follows (poll GET).
  app.post<{ Params: { id: string } }>('/domains/:id/verify', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const row = await owned(principal, req.params.id);
    if (onVerifyRequest(row.status) === 'start_pending') {
      await svc.store.startPending(row.id, ['not_started', 'failed']);
    }
    await svc.checkNow({ id: row.id, name: row.name, tenantName: principal.tenantName });
    return { object: 'domain', id: row.id };
  });
}

import { randomUUID } from 'node:crypto';
import type { Db } from './db.js';

export type Permission = 'full_access' | 'sending_access';

export interface KeyPrincipal {
  readonly keyId: string;
  readonly tenantId: string;
  readonly tenantName: string;
  readonly permission: Permission;
  /** A sending_access key may be limited to one domain. */
  readonly domainId: string | null;
}

export interface SendingDomain {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly status: string;
}

/** Tenants, their sending domains and API keys. */
export interface ApiKeyRow {
  readonly id: string;
  readonly name: string;
  /** The token's first characters, for recognising it (re_…). */
  readonly tokenPrefix: string;
  readonly permission: Permission;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

export function tenantStore(db: Db) {
  return {
    async ensureTenant(name: string): Promise<string> {
      const row = await db.query<{ id: string }>(
        `INSERT INTO tenants (id, name) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
        [randomUUID(), name],
      );
      return row.rows[0]!.id;
    },

    async tenantIdByName(name: string): Promise<string | null> {
      const r = await db.query<{ id: string }>('SELECT id FROM tenants WHERE name = $1', [name]);
      return r.rows[0]?.id ?? null;
    },

    /** Adds the domain to the tenant, or returns it if it is already the tenant's. */
    async ensureDomain(
      tenantId: string,
      name: string,
      verified: boolean,
    ): Promise<SendingDomain | { conflict: true }> {
      const inserted = await db.query<SendingDomain>(
        `INSERT INTO domains (id, tenant_id, name, status) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) WHERE deleted_at IS NULL DO NOTHING RETURNING id, tenant_id AS "tenantId", name, status`,
        [randomUUID(), tenantId, name, verified ? 'verified' : 'not_started'],
      );
      if (inserted.rows[0]) return inserted.rows[0];
      const existing = await db.query<SendingDomain>(
        `SELECT id, tenant_id AS "tenantId", name, status FROM domains WHERE name = $1 AND deleted_at IS NULL`,
        [name],
      );
      const domain = existing.rows[0]!;
      if (domain.tenantId !== tenantId) return { conflict: true };
      if (verified && domain.status !== 'verified') {
        await db.query(`UPDATE domains SET status = 'verified', status_since = now() WHERE id = $1`, [
          domain.id,
        ]);
        return { ...domain, status: 'verified' };
      }
      return domain;
    },

    async domainByName(tenantId: string, name: string): Promise<SendingDomain | null> {
      const r = await db.query<SendingDomain>(
        `SELECT id, tenant_id AS "tenantId", name, status FROM domains
         WHERE tenant_id = $1 AND name = $2 AND deleted_at IS NULL`,
        [tenantId, name],
      );
      return r.rows[0] ?? null;
    },

    async createKey(input: {
      tenantId: string;
      name: string;
      tokenHash: Buffer;
      tokenPrefix: string;
      permission: Permission;
      domainId: string | null;
    }): Promise<string> {
      const id = randomUUID();
      await db.query(
        `INSERT INTO api_keys (id, tenant_id, name, token_hash, token_prefix, permission, domain_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          id,
          input.tenantId,
          input.name,
          input.tokenHash,
          input.tokenPrefix,
          input.permission,
          input.domainId,
        ],
      );
      return id;
    },

    /** A tenant's keys, newest first; never the token (only its hash is stored). */
    async listKeys(tenantId: string): Promise<ApiKeyRow[]> {
      const r = await db.query<ApiKeyRow>(
        `SELECT id, name, token_prefix AS "tokenPrefix", permission, created_at AS "createdAt",
                revoked_at AS "revokedAt"
         FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC`,
        [tenantId],
      );
      return r.rows;
    },

    /**
     * Revokes a key by id. Every node drops it from its key cache at once: the change
     * NOTIFYs posthorn_auth (migration 008). Returns false when no live key has the id.
     */
    async revokeKey(id: string): Promise<boolean> {
      const r = await db.query(
        `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`,
        [id],
      );
      return (r.rowCount ?? 0) > 0;
    },

    async principalByTokenHash(tokenHash: Buffer): Promise<KeyPrincipal | null> {
      const r = await db.query<KeyPrincipal>(
        `SELECT k.id AS "keyId", k.tenant_id AS "tenantId", t.name AS "tenantName", k.permission, k.domain_id AS "domainId"
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
         WHERE k.token_hash = $1 AND k.revoked_at IS NULL`,
        [tokenHash],
      );
      return r.rows[0] ?? null;
    },
  };
}

export type TenantStore = ReturnType<typeof tenantStore>;

import type { Db } from './db.js';

export interface ApiKeyListing {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

/** The API keys API's view of a tenant's keys: listing, revoking, and when each was last used. */
export function apiKeyStore(db: Db) {
  return {
    /** Live keys, newest first; `after` is the id of the last one seen. Never a token. */
    async list(tenantId: string, o: { limit: number; after: string | null }): Promise<ApiKeyListing[]> {
      const r = await db.query<ApiKeyListing>(
        `SELECT k.id, k.name, k.created_at AS "createdAt", u.last_used_at AS "lastUsedAt"
         FROM api_keys k LEFT JOIN api_key_usage u ON u.key_id = k.id
         WHERE k.tenant_id = $1 AND k.revoked_at IS NULL
           AND ($3::uuid IS NULL OR (k.created_at, k.id) < (SELECT created_at, id FROM api_keys WHERE id = $3 AND tenant_id = $1))
         ORDER BY k.created_at DESC, k.id DESC LIMIT $2`,
        [tenantId, o.limit, o.after],
      );
      return r.rows;
    },

    /**
     * Revokes one of the tenant's keys. Every node drops its cached keys at once: the update
     * NOTIFYs posthorn_auth (migration 008). False when the tenant has no live key by the id.
     */
    async revoke(tenantId: string, id: string): Promise<boolean> {
      const r = await db.query(
        `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL`,
        [id, tenantId],
      );
      return (r.rowCount ?? 0) > 0;
    },

    /** Records uses of keys at the given times; an older time never overwrites a newer one. */
    async touch(uses: readonly { keyId: string; at: Date }[]): Promise<void> {
      if (uses.length === 0) return;
      await db.query(
        `INSERT INTO api_key_usage (key_id, last_used_at)
         SELECT u.key_id, u.at FROM unnest($1::uuid[], $2::timestamptz[]) AS u(key_id, at)
         JOIN api_keys k ON k.id = u.key_id
         ON CONFLICT (key_id) DO UPDATE SET last_used_at = EXCLUDED.last_used_at
         WHERE api_key_usage.last_used_at < EXCLUDED.last_used_at`,
        [uses.map((u) => u.keyId), uses.map((u) => u.at)],
      );
    },
  };
}

export type ApiKeyStore = ReturnType<typeof apiKeyStore>;

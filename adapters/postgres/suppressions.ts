import { randomUUID } from 'node:crypto';
import { type SuppressionOrigin, suppressionKey } from '../../core/suppression.js';
import type { Db } from './db.js';

export interface Suppression {
  id: string;
  email: string;
  origin: SuppressionOrigin;
  reason: string;
  source_id: string | null;
  created_at: Date;
}

const COLUMNS = `id, email, origin, reason, source_message_id AS source_id, created_at`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Matches a suppression by id, or by address when the argument is not a UUID. */
function byIdOrEmail(idOrEmail: string): { clause: string; value: string } {
  return UUID.test(idOrEmail)
    ? { clause: 'id = $2', value: idOrEmail }
    : { clause: 'email = $2', value: suppressionKey(idOrEmail) };
}

/** Per-tenant suppression list. */
export function suppressionStore(db: Db) {
  return {
    /**
     * For each (tenant, addresses) question, the addresses that are suppressed for that
     * tenant (as keys): many requests' checks in one query.
     */
    async suppressedAmongMany(
      questions: readonly { tenantId: string; addresses: readonly string[] }[],
    ): Promise<Set<string>[]> {
      const pairs = questions.flatMap((q) =>
        q.addresses.map((a) => [q.tenantId, suppressionKey(a)] as const),
      );
      if (pairs.length === 0) return questions.map(() => new Set());
      const r = await db.query<{ tenantId: string; email: string }>(
        `SELECT s.tenant_id AS "tenantId", s.email FROM suppressions s
         JOIN unnest($1::uuid[], $2::text[]) AS q(tenant_id, email) ON s.tenant_id = q.tenant_id AND s.email = q.email`,
        [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
      );
      return questions.map(
        (q) => new Set(r.rows.filter((row) => row.tenantId === q.tenantId).map((row) => row.email)),
      );
    },

    /** Adds a manual entry, or returns the existing one. */
    async add(tenantId: string, email: string, reason: string): Promise<Suppression> {
      const key = suppressionKey(email);
      await db.query(
        `INSERT INTO suppressions (id, tenant_id, email, origin, reason) VALUES ($1, $2, $3, 'manual', $4)
         ON CONFLICT (tenant_id, email) DO NOTHING`,
        [randomUUID(), tenantId, key, reason],
      );
      const r = await db.query<Suppression>(
        `SELECT ${COLUMNS} FROM suppressions WHERE tenant_id = $1 AND email = $2`,
        [tenantId, key],
      );
      return r.rows[0]!;
    },

    async get(tenantId: string, idOrEmail: string): Promise<Suppression | null> {
      const m = byIdOrEmail(idOrEmail);
      const r = await db.query<Suppression>(
        `SELECT ${COLUMNS} FROM suppressions WHERE tenant_id = $1 AND ${m.clause}`,
        [tenantId, m.value],
      );
      return r.rows[0] ?? null;
    },

    async remove(tenantId: string, idOrEmail: string): Promise<Suppression | null> {
      const m = byIdOrEmail(idOrEmail);
      const r = await db.query<Suppression>(
        `DELETE FROM suppressions WHERE tenant_id = $1 AND ${m.clause} RETURNING ${COLUMNS}`,
        [tenantId, m.value],
      );
      return r.rows[0] ?? null;
    },

    /** Newest first; `after` = id of the last entry seen. One extra row tells `has_more`. */
    async list(
      tenantId: string,
      limit: number,
      opts: { after?: string; origin?: SuppressionOrigin },
    ): Promise<Suppression[]> {
      const r = await db.query<Suppression>(
        `SELECT ${COLUMNS} FROM suppressions s
         WHERE tenant_id = $1 AND ($2::text IS NULL OR origin = $2)
           AND ($3::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM suppressions WHERE id = $3 AND tenant_id = $1))
         ORDER BY created_at DESC, id DESC LIMIT $4`,
        [tenantId, opts.origin ?? null, opts.after ?? null, limit + 1],
      );
      return r.rows;
    },
  };
}

export type SuppressionStore = ReturnType<typeof suppressionStore>;

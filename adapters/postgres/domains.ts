import { randomUUID } from 'node:crypto';
import type { DomainStatus, RecordStatus } from '../../core/domains/lifecycle.js';
import type { DkimPublicKey } from '../../core/domains/records.js';
import type { Db } from './db.js';
import type { StoredDkimKey } from './dkim-keys.js';

export type Tls = 'opportunistic' | 'enforced';

export interface DomainRow {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly status: DomainStatus;
  readonly statusSince: Date;
  readonly region: string;
  readonly openTracking: boolean;
  readonly clickTracking: boolean;
  readonly tls: Tls;
  readonly createdAt: Date;
  readonly deletedAt: Date | null;
  /** What the last DNS check saw per record (core/domains/records.ts recordKey); empty before one. */
  readonly recordStatus: Readonly<Record<string, RecordStatus>>;
}

const COLUMNS = `d.id, d.tenant_id AS "tenantId", d.name, d.status, d.status_since AS "statusSince", d.region,
  d.open_tracking AS "openTracking", d.click_tracking AS "clickTracking", d.tls, d.created_at AS "createdAt",
  d.deleted_at AS "deletedAt", COALESCE(c.record_status, '{}'::jsonb) AS "recordStatus"`;
const FROM = 'domains d LEFT JOIN domain_checks c ON c.domain_id = d.id';
/**
 * status_since in ms, as the domain actor carries it: read the same way when a check
 * starts and when its result is stored, so an unchanged status compares equal.
 */
const SINCE_MS = 'round(extract(epoch FROM d.status_since) * 1000)::bigint';

export type CreateDomainResult = { kind: 'created'; domain: DomainRow } | { kind: 'taken' };

/**
 * Sending domains as the Domains API sees them: always through their tenant, so one
 * tenant's key never reads or changes another's (a foreign id is simply not found).
 */
export function domainStore(db: Db) {
  async function byId(tenantId: string, id: string): Promise<DomainRow | null> {
    const r = await db.query<DomainRow>(
      `SELECT ${COLUMNS} FROM ${FROM} WHERE d.id = $1 AND d.tenant_id = $2 AND d.deleted_at IS NULL`,
      [id, tenantId],
    );
    return r.rows[0] ?? null;
  }

  return {
    byId,

    /**
     * The domain and its DKIM keys in one transaction: a domain is never left without keys.
     * A name held by any live domain (this tenant's or another's) is taken.
     */
    async create(input: {
      tenantId: string;
      name: string;
      region: string;
      openTracking: boolean;
      clickTracking: boolean;
      tls: Tls;
      keys: readonly StoredDkimKey[];
    }): Promise<CreateDomainResult> {
      const id = randomUUID();
      return db.transaction(async (tx) => {
        const inserted = await tx.query(
          `INSERT INTO domains (id, tenant_id, name, status, region, open_tracking, click_tracking, tls)
           VALUES ($1, $2, $3, 'not_started', $4, $5, $6, $7)
           ON CONFLICT (name) WHERE deleted_at IS NULL DO NOTHING`,
          [id, input.tenantId, input.name, input.region, input.openTracking, input.clickTracking, input.tls],
        );
        if (inserted.rowCount === 0) return { kind: 'taken' as const };
        for (const k of input.keys) {
          await tx.query(
            `INSERT INTO dkim_keys (id, domain_id, algorithm, selector, public_key, private_key_enc)
             VALUES ($1, $2, $3, $4, $5, $6)`,
            [randomUUID(), id, k.algorithm, k.selector, k.publicKey, k.privateKeyEnc],
          );
        }
        const row = await tx.query<DomainRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE d.id = $1`, [id]);
        return { kind: 'created' as const, domain: row.rows[0]! };
      });
    },

    /** A tenant's live domains, newest first; `after` is the id of the last one seen. */
    async list(tenantId: string, o: { limit: number; after: string | null }): Promise<DomainRow[]> {
      const r = await db.query<DomainRow>(
        `SELECT ${COLUMNS} FROM ${FROM}
         WHERE d.tenant_id = $1 AND d.deleted_at IS NULL
           AND ($3::uuid IS NULL OR (d.created_at, d.id) < (SELECT created_at, id FROM domains WHERE id = $3 AND tenant_id = $1))
         ORDER BY d.created_at DESC, d.id DESC LIMIT $2`,
        [tenantId, o.limit, o.after],
      );
      return r.rows;
    },

    async update(
      tenantId: string,
      id: string,
      patch: { openTracking?: boolean; clickTracking?: boolean; tls?: Tls },
    ): Promise<boolean> {
      const r = await db.query(
        `UPDATE domains SET open_tracking = COALESCE($3, open_tracking),
           click_tracking = COALESCE($4, click_tracking), tls = COALESCE($5, tls)
         WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`,
        [id, tenantId, patch.openTracking ?? null, patch.clickTracking ?? null, patch.tls ?? null],
      );
      return (r.rowCount ?? 0) > 0;
    },

    /** Soft delete: sends from it are refused at once (every node hears of it, migration 008). */
    async remove(tenantId: string, id: string): Promise<boolean> {
      const r = await db.query(
        `UPDATE domains SET deleted_at = now() WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`,
        [id, tenantId],
      );
      return (r.rowCount ?? 0) > 0;
    },

    /** A verify request on a domain never verified or failed: pending from now. */
    async startPending(id: string, from: readonly DomainStatus[]): Promise<boolean> {
      const r = await db.query(
        `UPDATE domains SET status = 'pending', status_since = now()
         WHERE id = $1 AND deleted_at IS NULL AND status = ANY($2::text[])`,
        [id, from],
      );
      return (r.rowCount ?? 0) > 0;
    },

    /** Any domain by id, for the domain actor (which outlives nothing: deleted means done). */
    async forCheck(id: string): Promise<(DomainRow & { sinceMs: number }) | null> {
      const r = await db.query<DomainRow & { sinceMs: string }>(
        `SELECT ${COLUMNS}, ${SINCE_MS} AS "sinceMs" FROM ${FROM} WHERE d.id = $1`,
        [id],
      );
      const row = r.rows[0];
      return row ? { ...row, sinceMs: Number(row.sinceMs) } : null;
    },

    /**
     * Stores a check's result if the domain's status is still the one the check read (a
     * verify request may have changed it meanwhile). `domains` is written only when the
     * status changes: each write there drops every node's caches (migration 008).
     */
    async recordCheck(c: {
      id: string;
      expected: { status: DomainStatus; sinceMs: number };
      status: DomainStatus;
      sinceMs: number;
      records: Readonly<Record<string, RecordStatus>>;
      checkedAtMs: number;
    }): Promise<boolean> {
      return db.transaction(async (tx) => {
        const cur = await tx.query<{ status: DomainStatus; sinceMs: string }>(
          `SELECT d.status, ${SINCE_MS} AS "sinceMs" FROM domains d WHERE d.id = $1 AND d.deleted_at IS NULL FOR UPDATE`,
          [c.id],
        );
        const row = cur.rows[0];
        if (!row || row.status !== c.expected.status || Number(row.sinceMs) !== c.expected.sinceMs)
          return false;
        if (c.status !== c.expected.status || c.sinceMs !== c.expected.sinceMs) {
          await tx.query(
            `UPDATE domains SET status = $2, status_since = to_timestamp($3 / 1000.0) WHERE id = $1`,
            [c.id, c.status, c.sinceMs],
          );
        }
        await tx.query(
          `INSERT INTO domain_checks (domain_id, record_status, checked_at) VALUES ($1, $2, to_timestamp($3 / 1000.0))
           ON CONFLICT (domain_id) DO UPDATE SET record_status = EXCLUDED.record_status, checked_at = EXCLUDED.checked_at`,
          [c.id, JSON.stringify(c.records), c.checkedAtMs],
        );
        return true;
      });
    },

    /** Live domains whose actor should be running: pending or flagged. */
    async awaitingChecks(): Promise<{ id: string; name: string; tenantName: string }[]> {
      const r = await db.query<{ id: string; name: string; tenantName: string }>(
        `SELECT d.id, d.name, t.name AS "tenantName" FROM domains d JOIN tenants t ON t.id = d.tenant_id
         WHERE d.deleted_at IS NULL AND d.status IN ('pending', 'temporary_failure')`,
      );
      return r.rows;
    },

    /** The domain's active DKIM public keys, newest first, RSA before Ed25519 (what its records publish). */
    async dkimKeys(id: string): Promise<DkimPublicKey[]> {
      const r = await db.query<DkimPublicKey>(
        `SELECT selector, algorithm, public_key AS "publicKey" FROM dkim_keys
         WHERE domain_id = $1 AND status = 'active' ORDER BY created_at DESC, algorithm DESC`,
        [id],
      );
      return r.rows;
    },
  };
}

export type DomainStore = ReturnType<typeof domainStore>;

import type { Db } from './db.js';

/**
 * Idempotency-Key records. `claim` either takes the key for this request or reports
 * what an earlier request with the same key did (Resend semantics: 24 h window; same key
 * and body → same answer; other body → conflict; still running → concurrent).
 */
export type Claim =
  | { kind: 'claimed' }
  | { kind: 'replay'; statusCode: number; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

// Resend keeps keys for 24 hours; an older record is treated as absent.
const WINDOW = `interval '24 hours'`;

export function idempotencyStore(db: Db) {
  return {
    async claim(tenantId: string, endpoint: string, key: string, requestHash: string): Promise<Claim> {
      return db.transaction(async (tx) => {
        await tx.query(
          `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND endpoint = $2 AND key = $3 AND created_at < now() - ${WINDOW}`,
          [tenantId, endpoint, key],
        );
        const inserted = await tx.query(
          `INSERT INTO idempotency_keys (tenant_id, endpoint, key, request_hash, state) VALUES ($1, $2, $3, $4, 'in_progress')
           ON CONFLICT DO NOTHING`,
          [tenantId, endpoint, key, requestHash],
        );
        if (inserted.rowCount === 1) return { kind: 'claimed' };
        const r = await tx.query<{
          request_hash: string;
          state: string;
          status_code: number;
          response_body: unknown;
        }>(
          `SELECT request_hash, state, status_code, response_body FROM idempotency_keys
           WHERE tenant_id = $1 AND endpoint = $2 AND key = $3`,
          [tenantId, endpoint, key],
        );
        const row = r.rows[0]!;
        if (row.request_hash !== requestHash) return { kind: 'mismatch' };
        if (row.state === 'in_progress') return { kind: 'in_progress' };
        return { kind: 'replay', statusCode: row.status_code, body: row.response_body };
      });
    },

    async complete(
      tenantId: string,
      endpoint: string,
      key: string,
      statusCode: number,
      body: unknown,
    ): Promise<void> {
      await db.query(
        `UPDATE idempotency_keys SET state = 'done', status_code = $4, response_body = $5
         WHERE tenant_id = $1 AND endpoint = $2 AND key = $3`,
        [tenantId, endpoint, key, statusCode, JSON.stringify(body)],
      );
    },

    /** Frees the key after a failure, so the client may retry with it. */
    async release(tenantId: string, endpoint: string, key: string): Promise<void> {
      await db.query('DELETE FROM idempotency_keys WHERE tenant_id = $1 AND endpoint = $2 AND key = $3', [
        tenantId,
        endpoint,
        key,
      ]);
    },
  };
}

export type IdempotencyStore = ReturnType<typeof idempotencyStore>;

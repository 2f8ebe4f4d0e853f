import type { EventName } from '../../core/events.js';
import type { AutoPause, DomainWindow } from '../../core/limits/safety.js';
import type { Db, Queryable } from './db.js';

/** Any number: the lock that lets one node at a time judge the windows (pg_try_advisory_xact_lock). */
const SAFETY_LOCK = 0x706f7374_01;

/** The sliding windows of trust and safety, and the automatic pauses it records. */
export function trustSafetyStore(db: Db) {
  return {
    /**
     * Runs `fn` on one node at a time, in a transaction: false when another node holds the
     * turn. What `fn` records commits together.
     */
    async exclusive(fn: (tx: Queryable) => Promise<void>): Promise<boolean> {
      return db.transaction(async (tx) => {
        const r = await tx.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS got', [
          SAFETY_LOCK,
        ]);
        if (!r.rows[0]?.got) return false;
        await fn(tx);
        return true;
      });
    },

    /**
     * Outcomes per (tenant, sending domain) in the window: the minutes since `sinceMs`, and
     * after the latest automatic pause of the tenant or of the domain (those outcomes led to
     * it; once an operator resumes the scope, it starts afresh).
     */
    async windows(tx: Queryable, sinceMs: number): Promise<DomainWindow[]> {
      const r = await tx.query<{
        tenantId: string;
        tenant: string;
        sendingDomain: string;
        sent: number;
        hardBounced: number;
        complained: number;
      }>(
        `SELECT o.tenant_id AS "tenantId", t.name AS tenant, o.sending_domain AS "sendingDomain",
                sum(o.sent)::int AS sent, sum(o.hard_bounced)::int AS "hardBounced", sum(o.complained)::int AS complained
         FROM tenant_outcomes o JOIN tenants t ON t.id = o.tenant_id
         WHERE o.bucket >= date_trunc('minute', to_timestamp($1::float8 / 1000))
           AND o.bucket > coalesce((SELECT max(a.paused_at) FROM auto_pauses a
                                    WHERE a.tenant_id = o.tenant_id
                                      AND (a.scope = 'tenant' OR a.value = o.sending_domain)), '-infinity')
         GROUP BY o.tenant_id, t.name, o.sending_domain
         HAVING sum(o.sent) > 0
         ORDER BY t.name, o.sending_domain`,
        [sinceMs],
      );
      return r.rows.map((x) => ({
        tenantId: x.tenantId,
        tenant: x.tenant,
        sendingDomain: x.sendingDomain,
        counts: { sent: x.sent, hardBounced: x.hardBounced, complained: x.complained },
      }));
    },

    /**
     * Records an automatic pause and its `paused` event in the delivery log (a tenant event:
     * no message; the sending domain for a domain pause).
     */
    async record(tx: Queryable, p: AutoPause, actor: string): Promise<void> {
      await tx.query(`INSERT INTO auto_pauses (tenant_id, scope, value, reason) VALUES ($1, $2, $3, $4)`, [
        p.tenantId,
        p.scope,
        p.value,
        p.reason,
      ]);
      const what = p.scope === 'tenant' ? `tenant ${p.value}` : `sending domain ${p.value}`;
      await tx.query(
        `INSERT INTO delivery_events (message_id, tenant_id, event, sending_domain, message_type, detail)
         VALUES (NULL, $1, $2, $3, NULL, $4)`,
        [
          p.tenantId,
          'paused' satisfies EventName,
          p.scope === 'sending_domain' ? p.value : null,
          `${what} paused by ${actor}: ${p.reason}`,
        ],
      );
    },

    /** Forgets outcome minutes older than `beforeMs` (no window reaches back that far). */
    async prune(beforeMs: number): Promise<void> {
      await db.query('DELETE FROM tenant_outcomes WHERE bucket < to_timestamp($1::float8 / 1000)', [
        beforeMs,
      ]);
    },
  };
}

export type TrustSafetyStore = ReturnType<typeof trustSafetyStore>;

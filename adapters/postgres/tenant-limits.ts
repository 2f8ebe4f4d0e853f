import type { OutcomeCounts } from '../../core/limits/safety.js';
import type { Db } from './db.js';

/** A tenant's own settings (tenant_limits); null columns fall back to the node's defaults. */
export interface TenantLimitsRow {
  readonly dailyQuota: number | null;
  readonly monthlyQuota: number | null;
  readonly rampCap: number | null;
  /** UTC day (days since the epoch) from which rampCap applied. */
  readonly rampDay: number | null;
}

/** What one take from a tenant's request-rate bucket found, on the database's clock (ms). */
export interface RateTake {
  readonly allowed: boolean;
  readonly nowMs: number;
  /** The bucket's theoretical arrival time after the take (allowed) or as found (refused). */
  readonly tatMs: number;
}

export type QuotaReservation =
  | { readonly ok: true; readonly day: number; readonly month: number }
  | { readonly ok: false; readonly which: 'daily' | 'monthly' };

/**
 * The GCRA of core/delivery/throttle-spec.ts as one statement: a first request creates the
 * row; a later one moves TAT to max(TAT, now) + T only if now ≥ max(TAT, now) − τ. Row locks
 * make concurrent takes from every node queue on the one row, so the bucket is exact. The
 * clock is the server's, so nodes with skewed clocks agree. The outer SELECT sees the row as
 * it was before the statement: on refusal that is the TAT to wait for.
 */
const TAKE = `WITH c AS MATERIALIZED (SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS now_ms),
  up AS (
    INSERT INTO tenant_rate AS r (tenant_id, tat_ms) SELECT $1, c.now_ms + $2 FROM c
    ON CONFLICT (tenant_id) DO UPDATE SET tat_ms = greatest(r.tat_ms, (SELECT now_ms FROM c)) + $2
      WHERE greatest(r.tat_ms, (SELECT now_ms FROM c)) - (SELECT now_ms FROM c) <= $3
    RETURNING r.tat_ms
  )
  SELECT c.now_ms AS "nowMs", (SELECT tat_ms FROM up) AS "takenTat",
         (SELECT tat_ms FROM tenant_rate WHERE tenant_id = $1) AS "foundTat"
  FROM c`;

/** Rolls back a reservation when one of its periods is full. */
class QuotaFull extends Error {
  constructor(readonly which: 'daily' | 'monthly') {
    super(which);
  }
}

/** Per-tenant request rate, quotas, the sending ramp and its daily outcomes. */
export function tenantLimitsStore(db: Db) {
  return {
    /** One request from the tenant's bucket: T = emission interval, τ = tolerance (ms). */
    async takeRate(tenantId: string, intervalMs: number, toleranceMs: number): Promise<RateTake> {
      const r = await db.query<{ nowMs: number; takenTat: number | null; foundTat: number | null }>(TAKE, [
        tenantId,
        intervalMs,
        toleranceMs,
      ]);
      const row = r.rows[0]!;
      if (row.takenTat !== null) return { allowed: true, nowMs: row.nowMs, tatMs: row.takenTat };
      return { allowed: false, nowMs: row.nowMs, tatMs: row.foundTat ?? row.nowMs };
    },

    async settings(tenantId: string): Promise<TenantLimitsRow | null> {
      const r = await db.query<TenantLimitsRow>(
        `SELECT daily_quota AS "dailyQuota", monthly_quota AS "monthlyQuota", ramp_cap AS "rampCap",
                ramp_day AS "rampDay"
         FROM tenant_limits WHERE tenant_id = $1`,
        [tenantId],
      );
      return r.rows[0] ?? null;
    },

    /**
     * Puts a tenant that has never sent on the sending ramp, unless it has settings already
     * (an operator's, or an earlier ramp). Returns whether it did.
     */
    async startRampIfNew(tenantId: string, cap: number, day: number): Promise<boolean> {
      const r = await db.query(
        `INSERT INTO tenant_limits (tenant_id, ramp_cap, ramp_day)
         SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM messages WHERE tenant_id = $1)
         ON CONFLICT (tenant_id) DO NOTHING`,
        [tenantId, cap, day],
      );
      return (r.rowCount ?? 0) > 0;
    },

    /**
     * Moves the ramp from `fromDay` to `toDay` with its new cap (null: the ramp is over),
     * once: a node that evaluated the same day a moment later changes nothing.
     */
    async advanceRamp(tenantId: string, fromDay: number, toDay: number, cap: number | null): Promise<void> {
      await db.query(
        `UPDATE tenant_limits SET ramp_cap = $4, ramp_day = $3, updated_at = now()
         WHERE tenant_id = $1 AND ramp_day = $2`,
        [tenantId, fromDay, toDay, cap],
      );
    },

    /** Recipients accepted on a UTC day, and the day's outcomes of the tenant's mail. */
    async dayOutcomes(
      tenantId: string,
      day: number,
      dayMs: number,
    ): Promise<OutcomeCounts & { accepted: number }> {
      const r = await db.query<OutcomeCounts & { accepted: number }>(
        `SELECT coalesce((SELECT count FROM tenant_usage WHERE tenant_id = $1 AND period = 'day' AND period_start = $2), 0) AS accepted,
                coalesce(sum(sent), 0)::int AS sent, coalesce(sum(hard_bounced), 0)::int AS "hardBounced",
                coalesce(sum(complained), 0)::int AS complained
         FROM tenant_outcomes
         WHERE tenant_id = $1 AND bucket >= to_timestamp($2::float8 * $3 / 1000)
           AND bucket < to_timestamp(($2::float8 + 1) * $3 / 1000)`,
        [tenantId, day, dayMs],
      );
      return r.rows[0]!;
    },

    /**
     * Takes `n` recipients from the tenant's day and month, atomically: both or neither.
     * A null limit takes nothing from that period.
     */
    async reserve(
      tenantId: string,
      n: number,
      limits: { daily: number | null; monthly: number | null },
      day: number,
      month: number,
    ): Promise<QuotaReservation> {
      try {
        await db.transaction(async (tx) => {
          // The messages' own commit, right after, flushes this with them: a reservation
          // need not wait for a WAL flush of its own (about 4 ms on the measured server).
          await tx.query('SET LOCAL synchronous_commit = off');
          for (const [period, start, cap, which] of [
            ['day', day, limits.daily, 'daily'],
            ['month', month, limits.monthly, 'monthly'],
          ] as const) {
            if (cap === null) continue;
            if (n > cap) throw new QuotaFull(which);
            const r = await tx.query(
              `INSERT INTO tenant_usage (tenant_id, period, period_start, count) VALUES ($1, $2, $3, $4)
               ON CONFLICT (tenant_id, period, period_start) DO UPDATE SET count = tenant_usage.count + $4
               WHERE tenant_usage.count + $4 <= $5`,
              [tenantId, period, start, n, cap],
            );
            if (r.rowCount === 0) throw new QuotaFull(which);
          }
        });
      } catch (err) {
        if (err instanceof QuotaFull) return { ok: false, which: err.which };
        throw err;
      }
      return { ok: true, day, month };
    },

    /** Gives back a reservation whose messages were not stored. */
    async refund(tenantId: string, n: number, day: number, month: number): Promise<void> {
      await db.query(
        `UPDATE tenant_usage SET count = greatest(0, count - $2)
         WHERE tenant_id = $1 AND ((period = 'day' AND period_start = $3) OR (period = 'month' AND period_start = $4))`,
        [tenantId, n, day, month],
      );
    },

    /** Recipients counted against the tenant's quotas in a day and a month. */
    async usage(tenantId: string, day: number, month: number): Promise<{ day: number; month: number }> {
      const r = await db.query<{ day: number; month: number }>(
        `SELECT coalesce(max(count) FILTER (WHERE period = 'day' AND period_start = $2), 0) AS day,
                coalesce(max(count) FILTER (WHERE period = 'month' AND period_start = $3), 0) AS month
         FROM tenant_usage WHERE tenant_id = $1`,
        [tenantId, day, month],
      );
      return r.rows[0]!;
    },

    /**
     * Changes an operator's settings; `undefined` leaves a column as it is, null clears it.
     * Returns the row, or null when no tenant has the name.
     */
    async set(
      tenantName: string,
      change: { dailyQuota?: number | null; monthlyQuota?: number | null; rampCap?: number | null },
      today: number,
    ): Promise<(TenantLimitsRow & { tenant: string }) | null> {
      const t = await db.query<{ id: string }>('SELECT id FROM tenants WHERE name = $1', [tenantName]);
      const id = t.rows[0]?.id;
      if (!id) return null;
      const has = (k: keyof typeof change) => change[k] !== undefined;
      await db.query(
        `INSERT INTO tenant_limits (tenant_id, daily_quota, monthly_quota, ramp_cap, ramp_day)
         VALUES ($1, $2, $4, $6, CASE WHEN $6::int IS NULL THEN NULL ELSE $8::int END)
         ON CONFLICT (tenant_id) DO UPDATE SET
           daily_quota = CASE WHEN $3 THEN EXCLUDED.daily_quota ELSE tenant_limits.daily_quota END,
           monthly_quota = CASE WHEN $5 THEN EXCLUDED.monthly_quota ELSE tenant_limits.monthly_quota END,
           ramp_cap = CASE WHEN $7 THEN EXCLUDED.ramp_cap ELSE tenant_limits.ramp_cap END,
           ramp_day = CASE WHEN $7 THEN EXCLUDED.ramp_day ELSE tenant_limits.ramp_day END,
           updated_at = now()`,
        [
          id,
          change.dailyQuota ?? null,
          has('dailyQuota'),
          change.monthlyQuota ?? null,
          has('monthlyQuota'),
          change.rampCap ?? null,
          has('rampCap'),
          today,
        ],
      );
      const row = await this.settings(id);
      return { tenant: tenantName, ...row! };
    },
  };
}

export type TenantLimitsStore = ReturnType<typeof tenantLimitsStore>;

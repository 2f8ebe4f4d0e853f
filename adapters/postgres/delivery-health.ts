import type { Db } from './db.js';

/** The outcomes a health view counts; the other event names are bookkeeping. */
export const HEALTH_EVENTS = ['delivered', 'deferred', 'bounced', 'complained', 'failed'] as const;
export type HealthEvent = (typeof HEALTH_EVENTS)[number];
export type HealthCounts = Record<HealthEvent, number>;

export type HealthDimension = 'provider' | 'ip';

export interface HealthRow {
  /** The provider or IP; null for events without one (e.g. refused before routing). */
  readonly key: string | null;
  readonly counts: HealthCounts;
}

export interface HealthBucket {
  /** Start of the bucket, ms since the epoch. */
  readonly startMs: number;
  readonly counts: HealthCounts;
}

export interface DeliveryHealth {
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly bucketMs: number;
  readonly rows: readonly HealthRow[];
  /** All keys together, one bucket per `bucketMs` (the chart). */
  readonly series: readonly HealthBucket[];
}

const emptyCounts = (): HealthCounts => ({ delivered: 0, deferred: 0, bounced: 0, complained: 0, failed: 0 });

const COLUMN: Record<HealthDimension, string> = { provider: 'provider', ip: 'ip' };

/**
 * Outcome counts per provider or per IP over [since, until), and the same counts in time
 * buckets for a chart. Two aggregate queries over the range (delivery_events_at_brin).
 */
export async function deliveryHealth(
  db: Db,
  q: { by: HealthDimension; sinceMs: number; untilMs: number; bucketMs: number; key?: string },
): Promise<DeliveryHealth> {
  const column = COLUMN[q.by];
  const range = `at >= to_timestamp($1::float8 / 1000) AND at < to_timestamp($2::float8 / 1000)
    AND event = ANY($3::text[])${q.key === undefined ? '' : ` AND ${column} = $4`}`;
  const args: unknown[] = [q.sinceMs, q.untilMs, HEALTH_EVENTS];
  if (q.key !== undefined) args.push(q.key);
  const byKey = await db.query<{ key: string | null; event: HealthEvent; n: number }>(
    `SELECT ${column} AS key, event, count(*)::int AS n FROM delivery_events WHERE ${range}
     GROUP BY 1, 2`,
    args,
  );
  const buckets = await db.query<{ start_ms: string; event: HealthEvent; n: number }>(
    `SELECT (floor(extract(epoch FROM at) * 1000 / $${args.length + 1}) * $${args.length + 1})::bigint AS start_ms,
            event, count(*)::int AS n
     FROM delivery_events WHERE ${range} GROUP BY 1, 2`,
    [...args, q.bucketMs],
  );
  const rows = new Map<string | null, HealthCounts>();
  for (const r of byKey.rows) {
    const counts = rows.get(r.key) ?? emptyCounts();
    counts[r.event] = r.n;
    rows.set(r.key, counts);
  }
  const series = new Map<number, HealthCounts>();
  const first = Math.floor(q.sinceMs / q.bucketMs) * q.bucketMs;
  for (let t = first; t < q.untilMs; t += q.bucketMs) series.set(t, emptyCounts());
  for (const b of buckets.rows) {
    const counts = series.get(Number(b.start_ms));
    if (counts) counts[b.event] = b.n;
  }
  return {
    sinceMs: q.sinceMs,
    untilMs: q.untilMs,
    bucketMs: q.bucketMs,
    rows: [...rows]
      .map(([key, counts]) => ({ key, counts }))
      .sort((a, b) => total(b.counts) - total(a.counts)),
    series: [...series].map(([startMs, counts]) => ({ startMs, counts })),
  };
}

const total = (c: HealthCounts) => HEALTH_EVENTS.reduce((n, e) => n + c[e], 0);

import type { Db } from './db.js';

/** Any number: the lock that lets one node at a time create and drop partitions. */
const RETENTION_LOCK = 7_346_431;
const PARTITION = /^delivery_events_(\d{8})$/;

/**
 * The delivery log's day partitions (migrations/015_delivery_events_by_day.sql) and the
 * message bodies past retention. Partition DDL takes a short exclusive lock on the log, so
 * it runs on one node at a time, under an advisory lock, and only when a day is missing or due.
 */
export function retentionStore(db: Db) {
  return {
    /** The YYYYMMDD days that have a partition. */
    async partitionDays(): Promise<string[]> {
      const r = await db.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'delivery_events'::regclass`,
      );
      return r.rows.flatMap((row) => PARTITION.exec(row.name)?.[1] ?? []);
    },

    /**
     * Creates the days' partitions that are missing and drops those listed; rows of the
     * default partition before `cutoffMs` go too. Returns what changed, or null when another
     * node holds the lock.
     */
    async apply(
      create: readonly string[],
      drop: readonly string[],
      cutoffMs: number,
    ): Promise<{ created: string[]; dropped: string[]; defaultRows: number } | null> {
      return db.transaction(async (tx) => {
        const lock = await tx.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS got', [
          RETENTION_LOCK,
        ]);
        if (!lock.rows[0]?.got) return null;
        const created: string[] = [];
        for (const day of create) {
          const r = await tx.query<{ made: boolean }>(
            `SELECT posthorn_event_partition(to_date($1, 'YYYYMMDD')) AS made`,
            [day],
          );
          if (r.rows[0]?.made) created.push(day);
        }
        const dropped: string[] = [];
        for (const day of drop) {
          if (!/^\d{8}$/.test(day)) continue;
          await tx.query(`DROP TABLE IF EXISTS delivery_events_${day}`);
          dropped.push(day);
        }
        const d = await tx.query(
          'DELETE FROM delivery_events_default WHERE at < to_timestamp($1::float8 / 1000)',
          [cutoffMs],
        );
        return { created, dropped, defaultRows: d.rowCount ?? 0 };
      });
    },

    /**
     * Empties the bodies (MIME, html, text) of up to `limit` messages accepted before
     * `cutoffMs` whose every recipient is settled; the message row, its recipients and its
     * events stay. Returns how many.
     */
    async dropBodies(cutoffMs: number, limit: number): Promise<number> {
      const r = await db.query(
        `UPDATE messages m SET mime = ''::bytea, html = NULL, text_body = NULL
         WHERE m.id IN (
           SELECT x.id FROM messages x
           WHERE x.created_at < to_timestamp($1::float8 / 1000) AND octet_length(x.mime) > 0
             AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = x.id AND r.state IN ('queued', 'deferred'))
           LIMIT $2)`,
        [cutoffMs, limit],
      );
      return r.rowCount ?? 0;
    },
  };
}

export type RetentionStore = ReturnType<typeof retentionStore>;

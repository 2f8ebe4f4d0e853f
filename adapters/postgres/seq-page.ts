import type pg from 'pg';
import type { Queryable } from './db.js';

export interface SeqPageQuery {
  /** The selected columns, over `alias`. */
  readonly columns: string;
  /** The FROM clause: the paged table as `alias`, and the joins its scope needs. */
  readonly from: string;
  readonly alias: string;
  /** The paged table, where a cursor's `seq` is looked up. */
  readonly table: string;
  /** The page's scope, with parameters $1… over `values`. */
  readonly where: string;
  /** The same scope over the cursor row's own columns (another tenant's id finds nothing). */
  readonly cursorScope: string;
  readonly values: readonly unknown[];
  readonly limit: number;
  /** `after`: rows older than that id's; `before`: newer ones, the nearest page. */
  readonly cursor: { readonly after?: string; readonly before?: string };
}

/**
 * One page of a list newest first, by its table's `seq` (keyset pagination, Resend's
 * `after`/`before` cursors). Returns one row more than `limit`, so the caller can tell
 * `has_more`.
 */
export async function pageBySeq<R extends pg.QueryResultRow>(db: Queryable, q: SeqPageQuery): Promise<R[]> {
  const n = q.values.length;
  const cursorSeq = `(SELECT seq FROM ${q.table} WHERE id = $${n + 1} AND ${q.cursorScope})`;
  const select = `SELECT ${q.columns}, ${q.alias}.seq AS page_seq FROM ${q.from} WHERE ${q.where}`;
  const r = q.cursor.before
    ? await db.query<R & { page_seq: number }>(
        `SELECT * FROM (${select} AND ${q.alias}.seq > ${cursorSeq}
           ORDER BY ${q.alias}.seq ASC LIMIT $${n + 2}) x ORDER BY page_seq DESC`,
        [...q.values, q.cursor.before, q.limit + 1],
      )
    : await db.query<R & { page_seq: number }>(
        `${select} AND ($${n + 1}::uuid IS NULL OR ${q.alias}.seq < ${cursorSeq})
         ORDER BY ${q.alias}.seq DESC LIMIT $${n + 2}`,
        [...q.values, q.cursor.after ?? null, q.limit + 1],
      );
  return r.rows.map(({ page_seq: _, ...row }) => row as unknown as R);
}

import type { Db, Queryable } from './db.js';
import { applyMigrations, migrate, migrationNames } from './migrate.js';

/**
 * A logical backup of Posthorn's PostgreSQL data that needs no client tools (the embedded
 * server ships none; a system pg_dump older than the server refuses it): one consistent
 * snapshot (a REPEATABLE READ, READ ONLY transaction, so every table is read as of one
 * instant while the node keeps running), written as JSON lines.
 *
 *   {"format":"posthorn-backup","version":1,"createdAt":…,"migrations":[…],"tables":[…]}
 *   {"t":"tenants","r":{…one row, row_to_json…}}
 *   …
 *   {"end":{"tenants":12,…}}            rows per table: a cut-short file is refused
 *
 * Restoring loads the rows into an empty database migrated to the backup's schema, in one
 * transaction, then applies the migrations the backup predates (docs/operations.md, Backups).
 */

export const BACKUP_FORMAT = 'posthorn-backup';
export const BACKUP_VERSION = 1;

export interface BackupHeader {
  readonly format: typeof BACKUP_FORMAT;
  readonly version: number;
  readonly createdAt: string;
  /** Migrations applied in the backed-up database: the schema the rows fit. */
  readonly migrations: readonly string[];
  /** Tables in load order (a table after the tables its foreign keys name). */
  readonly tables: readonly string[];
}

/** Rows read per statement while backing up; rows inserted per statement while restoring. */
const BATCH_ROWS = 1000;

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Posthorn's tables (not partitions, not the migration ledger), parents before children. */
async function tablesInLoadOrder(q: Queryable): Promise<string[]> {
  const tables = (
    await q.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
         AND c.relname <> 'schema_migrations'
       ORDER BY c.relname`,
    )
  ).rows.map((r) => r.name);
  const refs = (
    await q.query<{ child: string; parent: string }>(
      `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE k.contype = 'f' AND n.nspname = current_schema() AND c.relname <> p.relname`,
    )
  ).rows;
  const ordered: string[] = [];
  const placed = new Set<string>();
  const place = (t: string, path: Set<string>) => {
    if (placed.has(t)) return;
    if (path.has(t)) throw new Error(`foreign keys form a cycle through ${t}`);
    path.add(t);
    for (const r of refs) if (r.child === t && tables.includes(r.parent)) place(r.parent, path);
    path.delete(t);
    placed.add(t);
    ordered.push(t);
  };
  for (const t of tables) place(t, new Set());
  return ordered;
}

/** Writes a consistent backup through `write` (one call per line, newline included). */
export async function backupDatabase(
  db: Db,
  write: (line: string) => Promise<void>,
  now: () => Date = () => new Date(),
): Promise<Record<string, number>> {
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    // A large table takes longer than the node's per-statement and idle limits allow.
    await tx.query('SET LOCAL statement_timeout = 0');
    await tx.query('SET LOCAL idle_in_transaction_session_timeout = 0');
    const migrations = (
      await tx.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')
    ).rows.map((r) => r.name);
    const tables = await tablesInLoadOrder(tx);
    const header: BackupHeader = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: now().toISOString(),
      migrations,
      tables,
    };
    await write(`${JSON.stringify(header)}\n`);
    const counts: Record<string, number> = {};
    for (const table of tables) {
      counts[table] = 0;
      await tx.query(
        `DECLARE backup_rows NO SCROLL CURSOR FOR SELECT row_to_json(x)::text AS r FROM ${ident(table)} x`,
      );
      for (;;) {
        const batch = await tx.query<{ r: string }>(`FETCH ${BATCH_ROWS} FROM backup_rows`);
        if (batch.rows.length === 0) break;
        await write(batch.rows.map((row) => `{"t":${JSON.stringify(table)},"r":${row.r}}\n`).join(''));
        counts[table] += batch.rows.length;
      }
      await tx.query('CLOSE backup_rows');
    }
    await write(`${JSON.stringify({ end: counts })}\n`);
    return counts;
  });
}

export type RestoreOutcome =
  | { ok: true; counts: Record<string, number>; upgradedWith: string[] }
  | { ok: false; problem: string };

type Line = { t: string; r: unknown } | { end: Record<string, number> };

/**
 * Loads a backup (its lines in order) into an empty database. All of it or nothing: one
 * transaction, so a refused or cut-short file leaves the database as it was. `afterLoad`
 * runs in that transaction once the rows are in (e.g. to hand unfinished work on).
 */
export async function restoreDatabase(
  db: Db,
  lines: AsyncIterable<string>,
  afterLoad: (tx: Queryable) => Promise<void>,
): Promise<RestoreOutcome> {
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return { ok: false, problem: 'the file is empty' };
  let header: BackupHeader;
  try {
    header = JSON.parse(first.value) as BackupHeader;
  } catch {
    return { ok: false, problem: 'not a Posthorn backup (the first line is not JSON)' };
  }
  if (header.format !== BACKUP_FORMAT) return { ok: false, problem: 'not a Posthorn backup' };
  if (header.version !== BACKUP_VERSION)
    return { ok: false, problem: `backup format ${header.version}; this version reads ${BACKUP_VERSION}` };
  const known = await migrationNames();
  const unknown = header.migrations.filter((m) => !known.includes(m));
  if (unknown.length > 0)
    return {
      ok: false,
      problem: `the backup comes from a newer Posthorn (migrations ${unknown.join(', ')})`,
    };

  const existing = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`,
  );
  if (existing.rows[0]!.n > 0)
    return { ok: false, problem: 'the database is not empty: restore into a new one' };

  class Refused extends Error {}
  try {
    const counts = await db.transaction(async (tx) => {
      await tx.query('SET LOCAL statement_timeout = 0');
      await applyMigrations(tx, { only: header.migrations });
      // The rows come back as they were: triggers that derive rows from inserts (counts,
      // notifications) would count them again or collide with the derived rows the backup
      // already holds. The owner may switch its tables' triggers off in its transaction.
      for (const t of header.tables) await tx.query(`ALTER TABLE ${ident(t)} DISABLE TRIGGER USER`);
      const counts: Record<string, number> = Object.fromEntries(header.tables.map((t) => [t, 0]));
      let table: string | null = null;
      let batch: unknown[] = [];
      const flush = async () => {
        if (table === null || batch.length === 0) return;
        await tx.query(
          `INSERT INTO ${ident(table)} OVERRIDING SYSTEM VALUE
           SELECT * FROM json_populate_recordset(NULL::${ident(table)}, $1::json)`,
          [JSON.stringify(batch)],
        );
        counts[table]! += batch.length;
        batch = [];
      };
      let end: Record<string, number> | null = null;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        if (!next.value.trim()) continue;
        if (end) throw new Refused('lines after the end of the backup');
        const line = JSON.parse(next.value) as Line;
        if ('end' in line) {
          await flush();
          end = line.end;
          continue;
        }
        if (!(line.t in counts)) throw new Refused(`rows of a table the header does not name: ${line.t}`);
        if (line.t !== table || batch.length >= BATCH_ROWS) {
          await flush();
          table = line.t;
        }
        batch.push(line.r);
      }
      if (!end) throw new Refused('the backup is cut short (no end line)');
      for (const t of header.tables) {
        if (end[t] !== counts[t])
          throw new Refused(`${t}: ${counts[t]} rows read, the backup wrote ${end[t]}`);
      }
      for (const t of header.tables) await tx.query(`ALTER TABLE ${ident(t)} ENABLE TRIGGER USER`);
      // Serial columns continue after the restored rows.
      const serials = await tx.query<{ table_name: string; column_name: string; seq: string }>(
        `SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) AS seq
         FROM information_schema.columns WHERE table_schema = current_schema()
           AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL`,
      );
      for (const s of serials.rows) {
        await tx.query(
          `SELECT setval($1, coalesce((SELECT max(${ident(s.column_name)}) FROM ${ident(s.table_name)}), 0) + 1, false)`,
          [s.seq],
        );
      }
      await afterLoad(tx);
      return counts;
    });
    const upgradedWith = await migrate(db);
    return { ok: true, counts, upgradedWith };
  } catch (err) {
    if (err instanceof Refused) return { ok: false, problem: err.message };
    if (err instanceof SyntaxError) return { ok: false, problem: `a line is not JSON: ${err.message}` };
    throw err;
  }
}

import { readdir, readFile } from 'node:fs/promises';
import type { Db, Queryable } from './db.js';

const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url);
// Any constant works; it only has to be the same for every Posthorn process.
const MIGRATION_LOCK = 7_346_428;

/** The migration files of this version, in the order they apply. */
export async function migrationNames(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
}

/**
 * Applies the SQL files of migrations/ in name order, each once, all pending ones in one
 * transaction (a failed upgrade leaves the schema as it was). An advisory lock keeps two
 * nodes starting together from racing.
 */
export async function migrate(db: Db): Promise<string[]> {
  return db.transaction((tx) => applyMigrations(tx));
}

/**
 * The pending migrations, inside the caller's transaction; with `only`, just those of them
 * (a restore builds the schema its backup was taken with, then upgrades).
 */
export async function applyMigrations(
  tx: Queryable,
  opts: { only?: readonly string[] } = {},
): Promise<string[]> {
  // A migration may rewrite a large table, and a second node waits here for the first.
  await tx.query('SET LOCAL statement_timeout = 0');
  await tx.query('SET LOCAL lock_timeout = 0');
  await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  await tx.query(
    'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
  );
  const done = new Set(
    (await tx.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name),
  );
  const applied: string[] = [];
  for (const file of await migrationNames()) {
    if (done.has(file) || (opts.only && !opts.only.includes(file))) continue;
    await tx.query(await readFile(new URL(file, MIGRATIONS_DIR), 'utf8'));
    await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
    applied.push(file);
  }
  return applied;
}

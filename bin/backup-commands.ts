import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip, createGzip } from 'node:zlib';
import { backupDatabase, restoreDatabase } from '../adapters/postgres/backup.js';
import { createDb, type Db } from '../adapters/postgres/db.js';
import { handBackUnfinished } from '../adapters/postgres/messages.js';
import type { Config } from '../config/schema.js';
import { openDatabase } from './runtime.js';

/**
 * `posthorn backup FILE`: a consistent, gzip-compressed backup of the node's PostgreSQL data,
 * taken while the node runs (embedded or DATABASE_URL). Written to FILE.partial and renamed
 * once complete, so FILE is never a cut-short backup.
 */
export function backupCommand(file: string, config: Config, out: (s: string) => void): Promise<number> {
  return withUnmigratedDatabase(config, async (db) => {
    const partial = `${file}.partial`;
    const gzip = createGzip();
    const sink = createWriteStream(partial, { mode: 0o600 });
    gzip.pipe(sink);
    const counts = await backupDatabase(db, async (line) => {
      if (!gzip.write(line)) await once(gzip, 'drain');
    });
    gzip.end();
    await once(sink, 'close');
    await rename(partial, file);
    const rows = Object.values(counts).reduce((a, b) => a + b, 0);
    out(`backed up ${rows} rows of ${Object.keys(counts).length} tables to ${file}`);
    return 0;
  });
}

/**
 * `posthorn restore FILE`: loads a backup into an empty database (a new data directory, or
 * a new DATABASE_URL), then upgrades it to this version's schema. Messages still being
 * delivered when the backup was taken are handed to Temporal again by the next node start.
 */
export function restoreCommand(file: string, config: Config, out: (s: string) => void): Promise<number> {
  return withUnmigratedDatabase(config, async (db) => {
    const lines = createInterface({
      input: createReadStream(file).pipe(createGunzip()),
      crlfDelay: Infinity,
    });
    let handedBack = 0;
    const outcome = await restoreDatabase(db, lines, async (tx) => {
      handedBack = await handBackUnfinished(tx);
    });
    if (!outcome.ok) {
      process.stderr.write(`posthorn restore: ${outcome.problem}; nothing was restored\n`);
      return 1;
    }
    const rows = Object.values(outcome.counts).reduce((a, b) => a + b, 0);
    out(
      `restored ${rows} rows of ${Object.keys(outcome.counts).length} tables from ${file}` +
        `${outcome.upgradedWith.length ? `; upgraded with ${outcome.upgradedWith.join(', ')}` : ''}` +
        `; ${handedBack} unfinished messages will be handed to Temporal when the node starts`,
    );
    return 0;
  });
}

/**
 * The node's database (the running node's embedded server, our own, or DATABASE_URL) as it
 * is: unlike the other commands these do not migrate it first, since a restore builds the
 * schema its backup was taken with.
 */
async function withUnmigratedDatabase<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  const database = await openDatabase(config, { share: false });
  const db = createDb({ connectionString: database.url, maxConnections: database.maxConnections });
  try {
    return await fn(db);
  } finally {
    await db.close();
    await database.stop();
  }
}

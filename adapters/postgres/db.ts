import pg from 'pg';

/**
 * The PostgreSQL connection pool. Everything talks to the database through `Db`, so that
 * callers need not know whether the server is the embedded one or an external one.
 */
export interface Db {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

export interface DbOptions {
  connectionString: string;
  /** Pool size (connections). */
  maxConnections: number;
}

// bigint (int8) columns as JS numbers: our sequences stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** The connection itself failed (as opposed to a statement the server refused). */
function isConnectionLoss(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    /Connection terminated|ECONNRESET|EPIPE/.test(err.message) ||
    (typeof code === 'string' && /^(08|57P0)/.test(code))
  );
}

/**
 * The server cannot do it now, though it may later (as opposed to a statement it refused):
 * - it cannot be reached: socket errors, or a Unix socket's file gone while the server is
 *   down (connect ENOENT);
 * - it is restarting or full: SQLSTATE class 08, 57P01–57P03 (shutdown, crash recovery),
 *   53300 (too many connections), 55000 "not currently accepting connections";
 * - the statement gave up waiting: 55P03 lock_not_available and 57014 query_canceled (our
 *   lock_timeout and statement_timeout);
 * - node-postgres lost the connection mid-query.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const x = err as { code?: unknown; syscall?: unknown; message?: unknown };
  const code = typeof x.code === 'string' ? x.code : '';
  const message = String(x.message ?? '');
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'].includes(code)) return true;
  if (code === 'ENOENT' && x.syscall === 'connect') return true;
  if (/^08/.test(code) || /^57P0[1-3]$/.test(code) || ['53300', '55P03', '57014'].includes(code)) return true;
  if (code === '55000' && /not currently accepting connections/.test(message)) return true;
  return /Connection terminated|connection timeout/i.test(message);
}

/**
 * Statement texts this process prepares by name, at most; later new texts run unnamed. Our
 * SQL is static text but for a few filter combinations, so this bounds the server's memory
 * per connection, not the hot path.
 */
const MAX_NAMED_STATEMENTS = 500;

export function createDb(options: DbOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections,
    // Server-side limits on every connection (ms): one stuck statement or lock wait must not
    // hold a pool connection, and with it the journal or the accept path, for ever. Every
    // statement we run takes milliseconds; migrations lift the limits for themselves.
    statement_timeout: 30_000,
    lock_timeout: 10_000,
    idle_in_transaction_session_timeout: 60_000,
  });
  // An idle client losing its server is reported here; the next query reconnects.
  pool.on('error', () => {});
  // A statement with parameters is prepared once per connection under a name and then only
  // bound and executed: the server parses and plans our large batch statements once instead
  // of on every call (PostgreSQL "PREPARE"; node-postgres keeps the names per connection).
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text);
    if (name === undefined && names.size < MAX_NAMED_STATEMENTS) {
      name = `posthorn_${names.size}`;
      names.set(text, name);
    }
    return name;
  };
  return {
    query(text, values) {
      const name = values && values.length > 0 ? nameOf(text) : undefined;
      return name ? pool.query({ name, text, values }) : pool.query(text, values);
    },
    async transaction(fn) {
      const client = await pool.connect();
      // A checked-out client whose server goes away between statements emits 'error' with
      // no query to hand it to; unheard, that event would end the process. The next
      // statement fails instead, and the broken connection is thrown away, not pooled.
      let broken: Error | null = null;
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        broken ??= err instanceof Error && isConnectionLoss(err) ? err : null;
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken ?? undefined);
      }
    },
    close: () => pool.end(),
  };
}

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

export function createDb(options: DbOptions): Db {
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections });
  // An idle client losing its server is reported here; the next query reconnects.
  pool.on('error', () => {});
  return {
    query: (text, values) => pool.query(text, values),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

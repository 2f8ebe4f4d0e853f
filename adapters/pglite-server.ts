import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** The node's pool plus a few CLI commands run beside it. */
const MAX_CONNECTIONS = 16;

export interface EmbeddedPostgres {
  readonly connectionString: string;
  stop(): Promise<void>;
}

/**
 * PGlite (PostgreSQL compiled to WebAssembly) with its files under `dir`, served over the
 * PostgreSQL wire protocol on a loopback port so the `pg` driver talks to it like any
 * server. PGlite has one backend; the socket server queues statements from its
 * connections and, while one connection is inside a transaction, runs only that
 * connection's statements, so transactions never interleave.
 */
export async function startEmbeddedPostgres(dir: string): Promise<EmbeddedPostgres> {
  await mkdir(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: MAX_CONNECTIONS });
  await server.start();
  const conn = server.getServerConn();
  return {
    connectionString: `postgres://postgres@${conn}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

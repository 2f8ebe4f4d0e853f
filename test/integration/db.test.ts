import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { createDb, type Db } from '../../adapters/postgres/db.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/postgres.js';

let database: TestDatabase;
let db: Db;

before(async () => {
  database = await createTestDatabase();
  db = createDb({ connectionString: database.url, maxConnections: 2 });
});

after(async () => {
  await db?.close();
  await database?.drop();
});

test('a transaction whose connection the server drops between statements fails; the process lives on', async () => {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    const outcome = await db
      .transaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        // The server ends this session while the transaction waits between statements: the
        // checked-out client emits 'error' with no query to hand it to.
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await delay(300);
        await tx.query('SELECT 1');
      })
      .then(
        () => 'committed',
        (err: Error) => `failed: ${err.message}`,
      );
    assert.match(outcome, /^failed: /);
    // The broken connection was thrown away: the pool serves the next query.
    assert.equal((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
  } finally {
    await admin.end();
  }
});

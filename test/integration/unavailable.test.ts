import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { Resend } from 'resend';
import { mxZone } from '../support/dns-server.js';
import { TEST_DATABASE_URL } from '../support/postgres.js';
import { type Stack, startStack } from '../support/stack.js';
import { sendText, settled, tenantClient } from '../support/tenant.js';

const MX = '127.0.1.1';
let stack: Stack;
let resend: Resend;

before(async () => {
  stack = await startStack({
    zones: mxZone('rcpt.test', MX),
    sinks: { [MX]: {} },
  });
  ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
});

after(async () => {
  await stack?.stop();
});

/** Makes the node's database refuse and drop every connection (an outage), until `restore`. */
async function databaseOutage(): Promise<{ restore(): Promise<void> }> {
  const name = (await stack.db.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
  await admin.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [name],
  );
  return {
    async restore() {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
    },
  };
}

test('with the database down the API answers 503 with Retry-After, accepts nothing, and recovers', async () => {
  const outage = await databaseOutage();
  try {
    const down = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'x@rcpt.test',
      subject: 's',
      text: 't',
    });
    assert.equal(down.error?.statusCode, 503, JSON.stringify(down.error));
    assert.equal(down.headers?.['retry-after'], '5');
    const health = await fetch(`${stack.node.apiUrl}/health`);
    assert.equal(health.status, 503);
  } finally {
    await outage.restore();
  }
  const id = await sendText(resend, 'after@rcpt.test');
  assert.equal((await settled(stack, id))[0]!.state, 'delivered');
  const stored = await stack.db.query(
    `SELECT count(*)::int AS n FROM recipients WHERE address = 'x@rcpt.test'`,
  );
  assert.equal(stored.rows[0].n, 0, 'nothing half-accepted during the outage');
});

test('with Temporal down a send is still accepted (it is committed) and delivered once Temporal is back', async () => {
  await stack.stopTemporal();
  let id: string;
  try {
    const r = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'while-temporal-down@rcpt.test',
      subject: 's',
      text: 't',
    });
    assert.equal(r.error, null, JSON.stringify(r.error));
    id = r.data!.id;
    const row = await stack.db.query<{ started: boolean }>(
      'SELECT workflow_started AS started FROM messages WHERE id = $1',
      [id],
    );
    assert.equal(row.rows[0]?.started, false, 'committed, its workflow not yet started');
  } finally {
    await stack.startTemporal();
  }
  // The node's start sweeper starts it once Temporal answers again.
  assert.equal((await settled(stack, id, 120_000))[0]!.state, 'delivered');
  const copies = stack.sinks[MX]!.received.filter((m) => m.rcptTo.includes('while-temporal-down@rcpt.test'));
  assert.equal(copies.length, 1);
});

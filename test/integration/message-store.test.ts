import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createDb, type Db } from '../../adapters/postgres/db.js';
import { createJournal } from '../../adapters/postgres/journal.js';
import { messageStore, type NewMessage } from '../../adapters/postgres/messages.js';
import { migrate } from '../../adapters/postgres/migrate.js';
import { blankEvent } from '../../core/events.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

/**
 * The accept insert on a real PostgreSQL: bodies and MIME travel packed in one binary
 * parameter (adapters/postgres/packed-blobs.ts), so every byte and every NULL must come
 * back as it went in, whatever sits next to it in the batch.
 */
let database: TestDatabase;
let db: Db;

before(async () => {
  database = await createTestDatabase();
  db = createDb({ connectionString: database.url, maxConnections: 2 });
  await migrate(db);
});

after(async () => {
  await db?.close();
  await database?.drop();
});

/** A tenant `name` with its verified sending domain `name`.test. */
async function tenantWithDomain(name: string): Promise<{ tenantId: string; domainId: string }> {
  const tenantId = randomUUID();
  const domainId = randomUUID();
  await db.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [tenantId, name]);
  await db.query(`INSERT INTO domains (id, tenant_id, name, status) VALUES ($1, $2, $3, 'verified')`, [
    domainId,
    tenantId,
    `${name}.test`,
  ]);
  return { tenantId, domainId };
}

function message(tenantId: string, domainId: string, body: Pick<NewMessage, 'html' | 'text' | 'mime'>) {
  const id = randomUUID();
  const m: NewMessage = {
    id,
    tenantId,
    domainId,
    messageType: 'transactional',
    fromHeader: 'A <a@store.test>',
    subject: 'Grüße',
    to: ['b@rcpt.test'],
    cc: null,
    bcc: null,
    replyTo: null,
    tags: [{ name: 'k', value: 'v' }],
    messageIdHeader: `<${id}@store.test>`,
    recipients: [{ address: 'b@rcpt.test', domain: 'rcpt.test' }],
    scheduledAtMs: null,
    acceptedNode: 'node-a',
    ...body,
  };
  const events = [
    {
      ...blankEvent({
        messageId: id,
        tenantId,
        event: 'queued',
        sendingDomain: 'store.test',
        messageType: 'transactional',
      }),
      recipient: 'b@rcpt.test',
      recipientDomain: 'rcpt.test',
    },
  ];
  return { message: m, events };
}

test('a batch stores each message’s html, text and MIME byte for byte, NULLs and empty values included', async () => {
  const { tenantId, domainId } = await tenantWithDomain('store');
  const bodies: Pick<NewMessage, 'html' | 'text' | 'mime'>[] = [
    { html: null, text: 'Grüße 🎉 日本語\n'.repeat(500), mime: Buffer.from('Subject: a\r\n\r\nx\r\n') },
    { html: '', text: '', mime: Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x5c, 0x22, 0x27]) },
    { html: '<p>"quoted" \\ back\'slash</p>', text: null, mime: Buffer.alloc(70_000, 0x41) },
  ];
  const batch = bodies.map((b) => message(tenantId, domainId, b));
  await messageStore(db).insert(batch);
  const rows = await db.query<{ id: string; html: string | null; text_body: string | null; mime: Buffer }>(
    'SELECT id, html, text_body, mime FROM messages WHERE id = ANY($1::uuid[])',
    [batch.map((b) => b.message.id)],
  );
  for (const { message: m } of batch) {
    const row = rows.rows.find((r) => r.id === m.id);
    assert.ok(row, `message ${m.id} stored`);
    assert.equal(row.html, m.html);
    assert.equal(row.text_body, m.text);
    assert.ok(row.mime.equals(m.mime), 'MIME bytes unchanged');
  }
});

test("the insert stores a recipient on its tenant's suppression list suppressed, in the same statement, and says which", async () => {
  const { tenantId, domainId } = await tenantWithDomain('suppress');
  const other = await tenantWithDomain('suppress-other');
  for (const [t, email] of [
    [tenantId, 'gone@rcpt.test'],
    [tenantId, 'all@rcpt.test'],
    // Another tenant's list says nothing about this tenant's recipients.
    [other.tenantId, 'kept@rcpt.test'],
  ] as const) {
    await db.query(
      `INSERT INTO suppressions (id, tenant_id, email, origin, reason) VALUES ($1, $2, $3, 'manual', 'test')`,
      [randomUUID(), t, email],
    );
  }
  const withRecipients = (addresses: string[]) => {
    const { message: m, events } = message(tenantId, domainId, {
      html: null,
      text: 't',
      mime: Buffer.from('x'),
    });
    return {
      message: {
        ...m,
        recipients: addresses.map((address) => ({ address, domain: 'rcpt.test' })),
      },
      events: addresses.map((recipient) => ({ ...events[0]!, recipient })),
    };
  };
  // The list holds suppression keys (lower case); the address keeps the case it came with.
  const mixed = withRecipients(['Gone@RCPT.test', 'kept@rcpt.test', 'new@rcpt.test']);
  const none = withRecipients(['all@rcpt.test']);
  const result = await messageStore(db).insert([mixed, none]);
  assert.deepEqual(result.suppressed, [
    { messageId: mixed.message.id, recipient: 'Gone@RCPT.test' },
    { messageId: none.message.id, recipient: 'all@rcpt.test' },
  ]);
  const recipients = await db.query<{ message_id: string; address: string; state: string }>(
    'SELECT message_id, address, state FROM recipients WHERE message_id = ANY($1::uuid[]) ORDER BY message_id, idx',
    [[mixed.message.id, none.message.id]],
  );
  const stateOf = (id: string) =>
    recipients.rows.filter((r) => r.message_id === id).map((r) => `${r.address} ${r.state}`);
  assert.deepEqual(stateOf(mixed.message.id), [
    'Gone@RCPT.test suppressed',
    'kept@rcpt.test queued',
    'new@rcpt.test queued',
  ]);
  assert.deepEqual(stateOf(none.message.id), ['all@rcpt.test suppressed']);
  const events = await db.query<{
    message_id: string;
    recipient: string;
    event: string;
    detail: string | null;
  }>(
    'SELECT message_id, recipient, event, detail FROM delivery_events WHERE message_id = ANY($1::uuid[]) ORDER BY id',
    [[mixed.message.id, none.message.id]],
  );
  assert.deepEqual(
    events.rows.map((e) => `${e.recipient} ${e.event} ${e.detail}`),
    [
      'Gone@RCPT.test suppressed on the suppression list',
      'kept@rcpt.test queued null',
      'new@rcpt.test queued null',
      'all@rcpt.test suppressed on the suppression list',
    ],
    'in the order given',
  );
  const started = await db.query<{ id: string; workflow_started: boolean }>(
    'SELECT id, workflow_started FROM messages WHERE id = ANY($1::uuid[])',
    [[mixed.message.id, none.message.id]],
  );
  const startedOf = (id: string) => started.rows.find((r) => r.id === id)?.workflow_started;
  assert.equal(startedOf(mixed.message.id), false, 'two recipients left to deliver to');
  assert.equal(startedOf(none.message.id), true, 'nothing to start: the sweeper leaves it alone');
});

test('a wave claim takes only unclaimed messages (or its own again) and marks them started for the sweeper', async () => {
  const { tenantId, domainId } = await tenantWithDomain('claims');
  const store = messageStore(db);
  const batch = [1, 2, 3].map(() =>
    message(tenantId, domainId, { html: null, text: 't', mime: Buffer.from('x') }),
  );
  await store.insert(batch);
  const [a, b, c] = batch.map((x) => x.message.id) as [string, string, string];
  // Committed and not yet in a wave: the sweeper's (grace 0 s, any node) to hand over.
  const unstarted = async () =>
    (await store.unstarted('node-a', true, 0, 0, 100))
      .map((m) => m.id)
      .filter((id) => [a, b, c].includes(id));
  await delay(10);
  assert.deepEqual(new Set(await unstarted()), new Set([a, b, c]));

  assert.deepEqual(new Set(await store.claimForWave('wave-1', [a, b])), new Set([a, b]));
  assert.deepEqual(await unstarted(), [c], 'the claim marks its messages started');
  assert.deepEqual(await store.claimForWave('wave-2', [b, c]), [c], "another wave's message is not taken");
  assert.deepEqual(
    new Set(await store.claimForWave('wave-1', [a, b])),
    new Set([a, b]),
    'a wave run again gets its own back',
  );
  assert.deepEqual(await unstarted(), []);
});

test('the journal updates recipients through an index on a table that grew without statistics', async () => {
  // As on a new node under a burst: 10,000 recipients, and autovacuum has not analyzed the
  // table yet. (Below a few thousand rows a sequential scan is the cheaper plan, and taken.)
  await db.query('ALTER TABLE recipients SET (autovacuum_enabled = false)');
  const { tenantId, domainId } = await tenantWithDomain('journal-plan');
  const store = messageStore(db);
  const batches = Array.from({ length: 20 }, () =>
    Array.from({ length: 500 }, () =>
      message(tenantId, domainId, { html: null, text: 't', mime: Buffer.from('x') }),
    ),
  );
  for (const batch of batches) await store.insert(batch);
  // The journal's own statement, planned with its own values before it runs.
  const plans: string[] = [];
  const explaining: Db = {
    ...db,
    async query(text, values) {
      if (text.includes('UPDATE recipients')) {
        const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, values);
        plans.push(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
      }
      return db.query(text, values);
    },
  };
  const journal = createJournal(explaining);
  const delivered = batches[0]!.slice(0, 10).map((b) => b.message.id);
  await journal.append(
    [],
    delivered.map((messageId) => ({
      messageId,
      address: 'b@rcpt.test',
      state: 'delivered' as const,
      lastReply: '250 ok',
      attempted: true,
    })),
  );
  await journal.close();
  assert.equal(plans.length, 1);
  assert.doesNotMatch(plans[0]!, /Seq Scan on recipients/, plans[0]);
  assert.match(plans[0]!, /Index Scan using recipients_message_address/, plans[0]);
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM recipients WHERE message_id = ANY($1::uuid[]) AND state = 'delivered'`,
    [delivered],
  );
  assert.equal(r.rows[0]!.n, 10, 'the updates were applied');
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { createDb, type Db } from '../../adapters/postgres/db.js';
import { eventsQuery } from '../../adapters/postgres/events-query.js';
import { migrate } from '../../adapters/postgres/migrate.js';
import { retentionStore } from '../../adapters/postgres/retention.js';
import { SOURCE_JOINS } from '../../adapters/postgres/webhooks.js';
import { startRetention } from '../../bin/retention-runtime.js';
import { dayKey, daysAhead } from '../../core/retention.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

// The delivery log partitioned by day on real PostgreSQL: a month and more of generated
// events, the plans of the log's reads (only the days a time range names; an index on every
// day for a message), and retention dropping whole days and emptying old bodies.
const DAY_MS = 86_400_000;
const DAYS = 40;
const EVENTS = 200_000;
const TENANT = '00000000-0000-4000-8000-000000000001';
let database: TestDatabase;
let db: Db;
const now = Date.now();
// The generated events fill whole UTC days up to today's start: begun at `now` less 40 days,
// the oldest day would hold only the hours left of it (a few hundred rows late in the UTC
// day), which the planner rightly reads whole.
const generatedUntil = Math.floor(now / DAY_MS) * DAY_MS;

before(async () => {
  database = await createTestDatabase();
  db = createDb({ connectionString: database.url, maxConnections: 2 });
  await migrate(db);
  // Partitions for the generated past (retention makes only today and the week ahead).
  const past = Array.from({ length: DAYS + 1 }, (_, i) => daysAhead(now - (DAYS - i) * DAY_MS, 0)[0]!);
  await retentionStore(db).apply(past, [], 0);
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, 'acme'), (gen_random_uuid(), 'globex')`, [
    TENANT,
  ]);
  await db.query(
    `INSERT INTO delivery_events (at, message_id, tenant_id, event, recipient, sending_domain, recipient_domain,
                                  message_type, ip)
     SELECT to_timestamp($1::float8 / 1000) - (g::float8 / $2) * interval '${DAYS} days',
            md5((g / 4)::text)::uuid, $3, (ARRAY['queued', 'delivered', 'deferred', 'bounced'])[g % 4 + 1],
            'r' || g || '@rcpt.test', 'acme.test', 'd' || (g % 50) || '.test', 'transactional',
            '127.0.0.' || (g % 4 + 2)
     FROM generate_series(1, $2) AS g`,
    [generatedUntil, EVENTS, TENANT],
  );
  await db.query('ANALYZE delivery_events');
});

after(async () => {
  await db?.close();
  await database?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

async function plan(q: { text: string; values: unknown[] }): Promise<PlanNode[]> {
  const r = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
    `EXPLAIN (FORMAT JSON) ${q.text}`,
    q.values,
  );
  const nodes: PlanNode[] = [];
  const walk = (n: PlanNode) => {
    nodes.push(n);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(r.rows[0]!['QUERY PLAN'][0].Plan);
  return nodes;
}

const partitionsRead = (nodes: PlanNode[]) =>
  new Set(nodes.map((n) => n['Relation Name']).filter((r) => r?.startsWith('delivery_events_')));

/** The days before `fromMs` that a plan reads (the range's own days, later ones and the default are fine). */
const olderDaysRead = (nodes: PlanNode[], fromMs: number) => {
  const first = dayKey(fromMs);
  return [...partitionsRead(nodes)].filter((r) => /^delivery_events_\d{8}$/.test(r!) && r!.slice(-8) < first);
};

test('a time range reads only its days; a message is found through an index on every day', async () => {
  const lastDay = await plan(eventsQuery({ tenant: 'acme', sinceMs: now - DAY_MS, limit: 100 }));
  assert.deepEqual(olderDaysRead(lastDay, now - DAY_MS), [], 'the last 24 h read no earlier day');
  assert.ok(partitionsRead(lastDay).size < DAYS / 2);

  const byIp = await plan(
    eventsQuery({ ip: '127.0.0.3', sinceMs: now - 3 * DAY_MS, untilMs: now - DAY_MS, limit: 100 }),
  );
  assert.ok(partitionsRead(byIp).size <= 3, `two days by IP read ${[...partitionsRead(byIp)]}`);

  const message = await plan(eventsQuery({ messageId: 'c4ca4238-a0b9-2382-0dcc-509a6f75849b', limit: 1000 }));
  // Days with rows (the empty days ahead are scanned as the nothing they hold).
  const filled = new Set(
    (
      await db.query<{ day: string }>('SELECT DISTINCT tableoid::regclass::text AS day FROM delivery_events')
    ).rows.map((r) => r.day),
  );
  const scans = message.filter((n) => filled.has(n['Relation Name'] ?? ''));
  assert.ok(scans.length >= DAYS);
  for (const s of scans) {
    assert.notEqual(s['Node Type'], 'Seq Scan', `${s['Relation Name']} is read whole for one message`);
  }
});

test("a webhook event reads its delivery event in that event's day only, not in every day", async () => {
  const webhook = '00000000-0000-4000-8000-0000000000a1';
  await db.query(
    `INSERT INTO webhooks (id, tenant_id, endpoint, events, signing_secret)
     VALUES ($1, $2, 'https://hooks.test/', '{email.delivered}', 'whsec_x')`,
    [webhook, TENANT],
  );
  const r = await db.query<{ id: string }>(
    `INSERT INTO webhook_events (webhook_id, delivery_event_id, delivery_event_at, type)
     SELECT $1, id, at, 'email.delivered' FROM delivery_events
      WHERE at < to_timestamp($2::float8 / 1000) - interval '10 days' ORDER BY at DESC LIMIT 1
     RETURNING id`,
    [webhook, generatedUntil],
  );
  const analyzed = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
    `EXPLAIN (ANALYZE, FORMAT JSON) SELECT de.id FROM webhook_events we ${SOURCE_JOINS} WHERE we.id = $1`,
    [r.rows[0]!.id],
  );
  const executed = new Set<string>();
  const walk = (n: PlanNode & { 'Actual Loops'?: number }) => {
    if (n['Relation Name']?.startsWith('delivery_events_') && (n['Actual Loops'] ?? 0) > 0) {
      executed.add(n['Relation Name']);
    }
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(analyzed.rows[0]!['QUERY PLAN'][0].Plan);
  assert.equal(executed.size, 1, `read ${[...executed]}`);
});

test('retention drops whole days past the period, keeps a week ahead, and empties settled old bodies', async () => {
  const store = retentionStore(db);
  const body = Buffer.from('Subject: x\r\n\r\nbody');
  const message = async (ageDays: number, state: string) => {
    const r = await db.query<{ id: string }>(
      `WITH d AS (INSERT INTO domains (id, tenant_id, name, status) VALUES (gen_random_uuid(), $1, 'b' || gen_random_uuid() || '.test', 'verified') RETURNING id),
            m AS (INSERT INTO messages (id, tenant_id, domain_id, message_type, from_header, subject, to_addrs, html, message_id_hdr, mime, created_at)
                  SELECT gen_random_uuid(), $1, d.id, 'transactional', 'a@acme.test', 's', '[]', '<p>x</p>', '<x@acme.test>', $2,
                         now() - make_interval(days => $3) FROM d RETURNING id)
       INSERT INTO recipients (message_id, idx, address, domain, state) SELECT m.id, 0, 'r@rcpt.test', 'rcpt.test', $4 FROM m
       RETURNING message_id AS id`,
      [TENANT, body, ageDays, state],
    );
    return r.rows[0]!.id;
  };
  const oldSettled = await message(35, 'delivered');
  const oldPending = await message(35, 'deferred');
  const recent = await message(2, 'delivered');

  const retention = await startRetention({
    store,
    eventRetentionMs: 30 * DAY_MS,
    bodyRetentionMs: 30 * DAY_MS,
    log: pino({ level: 'silent' }),
    now: () => now,
  });
  await retention.close();

  const days = await store.partitionDays();
  const oldest = Math.min(...days.map((d) => Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6))));
  assert.ok(oldest + DAY_MS > now - 30 * DAY_MS, 'no day wholly past the retention is left');
  assert.ok(oldest <= now - 29 * DAY_MS, 'days within the retention are kept');
  for (const d of daysAhead(now, 7)) assert.ok(days.includes(d), `a partition for ${d}`);
  const left = await db.query<{ n: number; oldest: Date }>(
    'SELECT count(*)::int AS n, min(at) AS oldest FROM delivery_events',
  );
  assert.ok(left.rows[0]!.n > 0 && left.rows[0]!.n < EVENTS);
  assert.ok(left.rows[0]!.oldest.getTime() > now - 31 * DAY_MS);

  const bodies = await db.query<{ id: string; size: number; html: string | null }>(
    'SELECT id, octet_length(mime) AS size, html FROM messages WHERE id = ANY($1::uuid[])',
    [[oldSettled, oldPending, recent]],
  );
  const size = Object.fromEntries(bodies.rows.map((r) => [r.id, [r.size, r.html]]));
  assert.deepEqual(size[oldSettled], [0, null], 'a settled message past retention loses its body');
  assert.deepEqual(size[oldPending], [body.length, '<p>x</p>'], 'one still being delivered keeps it');
  assert.deepEqual(size[recent], [body.length, '<p>x</p>']);
});

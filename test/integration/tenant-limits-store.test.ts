import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createDb, type Db } from '../../adapters/postgres/db.js';
import { migrate } from '../../adapters/postgres/migrate.js';
import { tenantLimitsStore } from '../../adapters/postgres/tenant-limits.js';
import { trustSafetyStore } from '../../adapters/postgres/trust-safety.js';
import { ApiError } from '../../api/errors.js';
import { createTenantLimits } from '../../api/tenant-limits.js';
import { utcMonth } from '../../core/limits/quota.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

/**
 * Quotas, the sending ramp and the trust-and-safety windows on a real PostgreSQL, with the
 * clock in the test's hands (no Temporal, no SMTP): days pass by setting `now`, and delivery
 * outcomes are log rows written at the times the test names, counted by the migration's
 * trigger as the journal's would be.
 */
let database: TestDatabase;
let db: Db;

before(async () => {
  database = await createTestDatabase();
  db = createDb({ connectionString: database.url, maxConnections: 4 });
  await migrate(db);
});

after(async () => {
  await db?.close();
  await database?.drop();
});

const DAY = 86_400_000;
const noonOf = (day: number) => day * DAY + DAY / 2;

async function tenant(name: string): Promise<string> {
  const id = randomUUID();
  await db.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [id, name]);
  return id;
}

/** `sent` delivery outcomes of the tenant's mail at `atMs`, `hard` of them hard bounces. */
async function outcomes(tenantId: string, atMs: number, sent: number, hard = 0, domain = 'a.test') {
  await db.query(
    `INSERT INTO delivery_events (message_id, tenant_id, event, recipient, sending_domain, message_type, category, at)
     SELECT gen_random_uuid(), $1, CASE WHEN g <= $4 THEN 'bounced' ELSE 'delivered' END, 'r' || g || '@x.test', $5,
            'transactional', CASE WHEN g <= $4 THEN 'recipient_unknown' END, to_timestamp($2::float8 / 1000)
     FROM generate_series(1, $3::int) g`,
    [tenantId, atMs, sent, hard, domain],
  );
}

function limits(
  now: { ms: number },
  defaults: { dailyQuota: number | null; monthlyQuota: number | null } = {
    dailyQuota: null,
    monthlyQuota: null,
  },
) {
  return createTenantLimits({
    store: tenantLimitsStore(db),
    defaults,
    ramp: { newTenants: true, startPerDay: 10, maxPerDay: 100, hardBounceRate: 0.05, complaintRate: 0.003 },
    pauses: () => [],
    now: () => now.ms,
    ttlMs: 60_000,
  });
}

const quotaRefusal = (name: string, message?: RegExp) => (e: unknown) =>
  e instanceof ApiError &&
  e.statusCode === 429 &&
  e.errorName === name &&
  (!message || message.test(e.message));

test('a new tenant ramps: 10 a day, doubled after a clean day that used half, held after a bouncy one', async () => {
  const id = await tenant('ramping');
  const day = 20_000;
  const now = { ms: noonOf(day) };
  const l = limits(now);

  await l.reserve(id, 6);
  await assert.rejects(l.reserve(id, 5), quotaRefusal('daily_quota_exceeded', /ramps up it may send to 10/));
  await outcomes(id, noonOf(day), 6);

  now.ms = noonOf(day + 1);
  await l.reserve(id, 20);
  await assert.rejects(l.reserve(id, 1), quotaRefusal('daily_quota_exceeded'), 'the cap doubled to 20');
  await outcomes(id, noonOf(day + 1), 20, 1); // 5 % hard bounces: over half the 5 % threshold

  now.ms = noonOf(day + 2);
  await l.reserve(id, 20);
  await assert.rejects(l.reserve(id, 1), quotaRefusal('daily_quota_exceeded'), 'a bouncy day keeps 20');
  const row = await tenantLimitsStore(db).settings(id);
  assert.deepEqual([row?.rampCap, row?.rampDay], [20, day + 2]);
});

test('a tenant that has sent before is not put on the ramp', async () => {
  const id = await tenant('veteran');
  const domain = randomUUID();
  await db.query(
    `INSERT INTO domains (id, tenant_id, name, status) VALUES ($1, $2, 'veteran.test', 'verified')`,
    [domain, id],
  );
  await db.query(
    `INSERT INTO messages (id, tenant_id, domain_id, message_type, from_header, subject, to_addrs, message_id_hdr, mime)
     VALUES (gen_random_uuid(), $1, $2, 'transactional', 'a@veteran.test', 's', '[]', '<x@veteran.test>', '')`,
    [id, domain],
  );
  const l = limits({ ms: noonOf(20_000) });
  await l.reserve(id, 500);
  assert.equal(await tenantLimitsStore(db).settings(id), null);
});

test('quotas: the node default, a tenant set unlimited over it, and a month across days', async () => {
  const store = tenantLimitsStore(db);
  const capped = await tenant('capped');
  const free = await tenant('free');
  const monthly = await tenant('monthly');
  const day = 20_100;
  await store.set('free', { dailyQuota: -1 }, day);
  await store.set('monthly', { dailyQuota: 100, monthlyQuota: 15 }, day);
  await store.set('capped', { rampCap: null }, day); // settings of its own keep it off the ramp
  const now = { ms: noonOf(day) };
  const l = limits(now, { dailyQuota: 5, monthlyQuota: null });

  await l.reserve(capped, 5);
  await assert.rejects(l.reserve(capped, 1), quotaRefusal('daily_quota_exceeded'));
  await l.reserve(free, 50);
  await l.reserve(monthly, 10);
  now.ms = noonOf(day + 1);
  await assert.rejects(l.reserve(monthly, 6), quotaRefusal('monthly_quota_exceeded'));
  const r = await l.reserve(monthly, 5);
  assert.deepEqual(await store.usage(monthly, day + 1, utcMonth(now.ms)), { day: 5, month: 15 });
  await r.refund();
  assert.deepEqual(await store.usage(monthly, day + 1, utcMonth(now.ms)), { day: 0, month: 10 });
});

test('trust and safety windows: sums per tenant and domain; a recorded pause restarts them', async () => {
  const safety = trustSafetyStore(db);
  const id = await tenant('windowed');
  const now = Date.now();
  await outcomes(id, now - 2 * DAY, 50, 50, 'old.test'); // outside a one-day window
  await outcomes(id, now - 60_000, 100, 10, 'a.test');
  await outcomes(id, now - 60_000, 40, 0, 'b.test');
  const windows = async () =>
    (await db.transaction((tx) => safety.windows(tx, now - DAY))).filter((w) => w.tenantId === id);
  assert.deepEqual(
    (await windows()).map((w) => [w.sendingDomain, w.counts]),
    [
      ['a.test', { sent: 100, hardBounced: 10, complained: 0 }],
      ['b.test', { sent: 40, hardBounced: 0, complained: 0 }],
    ],
  );
  await db.transaction((tx) =>
    safety.record(tx, { tenantId: id, scope: 'tenant', value: 'windowed', reason: 'r' }, 'test'),
  );
  assert.deepEqual(await windows(), [], 'the outcomes before the pause count no more');
  const ev = await db.query(
    `SELECT message_id, sending_domain, message_type, detail FROM delivery_events WHERE tenant_id = $1 AND event = 'paused'`,
    [id],
  );
  assert.deepEqual(ev.rows, [
    {
      message_id: null,
      sending_domain: null,
      message_type: null,
      detail: 'tenant windowed paused by test: r',
    },
  ]);
});

test('one bucket per tenant: a take on the server clock, refused past the burst', async () => {
  const store = tenantLimitsStore(db);
  const id = await tenant('rated');
  // 1 a minute, burst 3: T = 60 s, τ = 120 s.
  const takes = [];
  for (let i = 0; i < 4; i++) takes.push(await store.takeRate(id, 60_000, 120_000));
  assert.deepEqual(
    takes.map((t) => t.allowed),
    [true, true, true, false],
  );
  const refused = takes[3]!;
  const wait = refused.tatMs - 120_000 - refused.nowMs;
  assert.ok(wait > 59_000 && wait <= 60_000, `the next take conforms in about a minute, not ${wait} ms`);
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { Resend } from 'resend';
import { restoreDatabase } from '../../adapters/postgres/backup.js';
import { createDb } from '../../adapters/postgres/db.js';
import { type DevStack, startDevStack } from '../support/dev-stack.js';
import { mxZone } from '../support/dns-server.js';
import { createTestDatabase } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';

// `posthorn backup` while `npm start` runs, then `posthorn restore` onto a new machine's data
// directory (only the secret key carried over, as docs/operations.md asks): the tenants, keys
// and messages are back, and mail that was still being retried is delivered.
const NOW_MX = '127.0.1.41';
const LATER_MX = '127.0.1.42';
let deferring = true;
let stack: DevStack;
let resend: Resend;

before(async () => {
  stack = await startDevStack({
    zones: { ...mxZone('now.test', NOW_MX), ...mxZone('later.test', LATER_MX) },
    sinks: {
      [NOW_MX]: {},
      [LATER_MX]: { rcpt: () => (deferring ? { code: 451, message: '4.3.2 try again later' } : null) },
    },
    env: { POSTHORN_RETRY_INITIAL: '1s', POSTHORN_RETRY_MAX: '2s' },
  });
  const key = (
    await stack.node.cli(['keys', 'create', '--tenant', 'acme', '--domain', 'acme.test', '--verified'])
  ).trim();
  resend = new Resend(key, { baseUrl: stack.node.apiUrl });
});

after(async () => {
  await stack?.stop();
});

async function send(to: string, subject: string): Promise<string> {
  const { data, error } = await resend.emails.send({ from: 'hello@acme.test', to, subject, text: subject });
  if (error) throw new Error(error.message);
  return data!.id;
}

async function states(ids: readonly string[]): Promise<string[]> {
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  try {
    const r = await db.query<{ state: string }>(
      'SELECT state FROM recipients WHERE message_id = ANY($1::uuid[]) ORDER BY message_id',
      [ids],
    );
    return r.rows.map((x) => x.state);
  } finally {
    await db.end();
  }
}

/** Trust and safety's delivered count against the delivered events it derives from. */
async function outcomeCounts(): Promise<{ counted: number; events: number }> {
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  try {
    const r = await db.query<{ counted: number; events: number }>(
      `SELECT (SELECT coalesce(sum(sent), 0)::int FROM tenant_outcomes) AS counted,
              (SELECT count(*)::int FROM delivery_events WHERE event = 'delivered') AS events`,
    );
    return r.rows[0]!;
  } finally {
    await db.end();
  }
}

const receivedBy = (mx: string, address: string) =>
  stack.sinks[mx]!.received.filter((m) => m.rcptTo.includes(address)).length;

test('backup while running, restore onto a new data directory: everything backed up is back and pending mail is delivered', async () => {
  const delivered = await Promise.all([0, 1, 2].map((i) => send(`d${i}@now.test`, `delivered ${i}`)));
  const pending = await Promise.all([0, 1, 2].map((i) => send(`p${i}@later.test`, `pending ${i}`)));
  await waitFor(
    'the first messages delivered and the others deferred',
    async () => {
      const s = [...(await states(delivered)), ...(await states(pending))];
      return s.slice(0, 3).every((x) => x === 'delivered') && s.slice(3).every((x) => x === 'deferred')
        ? true
        : undefined;
    },
    60_000,
  );

  const file = join(stack.dataDir, '..', `${stack.dataDir.split('/').pop()}-backup.jsonl.gz`);
  const said = await stack.node.cli(['backup', file]);
  assert.match(said, /backed up \d+ rows of \d+ tables/);
  const after = await send('late@now.test', 'after the backup');
  assert.ok(after);

  // A new machine: the old data directory is gone but for the secret key (DKIM keys are
  // sealed with it).
  await stack.node.stop();
  for (const name of await readdir(stack.dataDir)) {
    if (name !== 'secret.key') await rm(join(stack.dataDir, name), { recursive: true, force: true });
  }
  deferring = false;
  const restored = await stack.node.cli(['restore', file]);
  assert.match(restored, /3 unfinished messages will be handed to Temporal/);
  await stack.node.start();

  for (const [i, id] of delivered.entries()) {
    const { data, error } = await resend.emails.get(id);
    assert.equal(error, null);
    assert.equal(data!.subject, `delivered ${i}`);
  }
  const lost = await resend.emails.get(after);
  assert.equal(lost.error?.statusCode, 404, 'a message accepted after the backup is not in it');

  await waitFor(
    'the pending messages delivered after the restore',
    async () => ((await states(pending)).every((x) => x === 'delivered') ? true : undefined),
    120_000,
  );
  const counts = await outcomeCounts();
  assert.equal(counts.counted, counts.events, 'counts derived by triggers are restored, not counted again');
  for (const i of [0, 1, 2]) {
    assert.equal(receivedBy(LATER_MX, `p${i}@later.test`), 1, 'each pending message arrives once');
    assert.equal(receivedBy(NOW_MX, `d${i}@now.test`), 1, 'delivered messages are not sent again');
  }
  // New mail after the restore gets new sequence numbers and is delivered.
  const fresh = await send('fresh@now.test', 'after the restore');
  await waitFor(
    'a new message delivered',
    async () => ((await states([fresh]))[0] === 'delivered' ? true : undefined),
    60_000,
  );
});

test('restore refuses a database that is not empty, a foreign file and a cut-short one, restoring nothing', async () => {
  const full = join(stack.dataDir, '..', `${stack.dataDir.split('/').pop()}-backup.jsonl.gz`);
  await assert.rejects(stack.node.cli(['restore', full]), /the database is not empty/);

  // The same backup, taken from the embedded PostgreSQL 18, into an empty database of the
  // system's server (another major version): cut short, then foreign, then whole.
  const target = await createTestDatabase();
  const db = createDb({ connectionString: target.url, maxConnections: 2 });
  const tables = async () =>
    Number(
      (await db.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0]!.n,
    );
  try {
    const lines = gunzipSync(readFileSync(full)).toString('utf8').split('\n').filter(Boolean);
    const cut = await restoreDatabase(db, toLines(lines.slice(0, -1)), async () => {});
    assert.deepEqual(cut, { ok: false, problem: 'the backup is cut short (no end line)' });
    assert.equal(await tables(), 0, 'nothing restored');
    const foreign = await restoreDatabase(db, toLines(['{"format":"something-else"}']), async () => {});
    assert.equal(foreign.ok, false);
    const whole = await restoreDatabase(db, toLines(lines), async () => {});
    assert.ok(whole.ok);
    const tenants = await db.query('SELECT name FROM tenants');
    assert.deepEqual(tenants.rows, [{ name: 'acme' }]);
  } finally {
    await db.close();
    await target.drop();
  }
});

async function* toLines(lines: readonly string[]): AsyncIterable<string> {
  yield* lines;
}

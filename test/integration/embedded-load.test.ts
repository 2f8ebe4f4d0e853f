import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { Resend } from 'resend';
import { type DevStack, startDevStack } from '../support/dev-stack.js';
import { mxZone } from '../support/dns-server.js';
import { waitFor } from '../support/wait.js';

// `npm start` under overlapping requests: the path a newcomer runs, the way they run it.
const CLIENTS = 32;
const BATCH = 5;
const DOMAINS = ['d0.test', 'd1.test', 'd2.test', 'd3.test'];
const MXS = ['127.0.1.1', '127.0.1.2', '127.0.1.3', '127.0.1.4'];

let stack: DevStack;
const tenants: Record<'acme' | 'globex', Resend> = {} as never;

before(async () => {
  stack = await startDevStack({
    zones: Object.assign({}, ...DOMAINS.map((d, i) => mxZone(d, MXS[i]!))),
    sinks: Object.fromEntries(MXS.map((mx) => [mx, {}])),
  });
  for (const name of ['acme', 'globex'] as const) {
    const key = (
      await stack.node.cli(['keys', 'create', '--tenant', name, '--domain', `${name}.test`, '--verified'])
    ).trim();
    tenants[name] = new Resend(key, { baseUrl: stack.node.apiUrl });
  }
  // A domain of acme's that is not verified: sends from it are refused.
  await stack.node.cli(['keys', 'create', '--tenant', 'acme', '--domain', 'unverified.test']);
});

after(async () => {
  await stack?.stop();
});

const received = (address: string) =>
  Object.values(stack.sinks).reduce(
    (n, s) => n + s.received.filter((m) => m.rcptTo.includes(address)).length,
    0,
  );

test('npm start: 32 concurrent clients, single sends and batches, no 5xx, every accepted message once, refused never', async () => {
  const accepted = new Map<string, { id: string; tenant: 'acme' | 'globex' }>();
  const refused: string[] = [];
  const statuses: number[] = [];
  const mismatches: string[] = [];

  async function client(c: number): Promise<void> {
    const tenant = c % 2 === 0 ? 'acme' : 'globex';
    const other = tenant === 'acme' ? 'globex' : 'acme';
    const resend = tenants[tenant];
    const rcpt = (round: number, i: number) =>
      `c${c}-r${round}-${i}@${DOMAINS[(c + round + i) % DOMAINS.length]}`;
    const email = (to: string, from = `${tenant}.test`) => ({
      from: `hello@${from}`,
      to,
      subject: `for ${to}`,
      text: `body for ${to}`,
    });
    /** GET on one accepted id: it must be this tenant's message to this recipient, and not the other's. */
    const check = async (id: string, to: string) => {
      const mine = await resend.emails.get(id);
      if (mine.error || !mine.data?.to.includes(to)) mismatches.push(`${id}: ${JSON.stringify(mine)}`);
      const theirs = await tenants[other].emails.get(id);
      if (theirs.error?.statusCode !== 404) mismatches.push(`${id} visible to ${other}`);
    };
    for (let round = 0; round < 5; round++) {
      switch (round) {
        case 0:
        case 3: {
          const to = Array.from({ length: BATCH }, (_, i) => rcpt(round, i));
          const r = await resend.batch.send(to.map((t) => email(t)));
          statuses.push(r.error?.statusCode ?? 200);
          if (r.error) continue;
          for (const [i, d] of r.data!.data.entries()) accepted.set(to[i]!, { id: d.id, tenant });
          await check(r.data!.data[0]!.id, to[0]!);
          break;
        }
        case 1:
        case 4: {
          const to = rcpt(round, 0);
          const r = await resend.emails.send(email(to));
          statuses.push(r.error?.statusCode ?? 200);
          if (r.error) continue;
          accepted.set(to, { id: r.data!.id, tenant });
          await check(r.data!.id, to);
          break;
        }
        default: {
          // A strict batch with one email from an unverified domain: nothing of it is accepted.
          const to = Array.from({ length: BATCH }, (_, i) => rcpt(round, i));
          const r = await resend.batch.send(
            to.map((t, i) => email(t, i === 2 ? 'unverified.test' : undefined)),
          );
          statuses.push(r.error?.statusCode ?? 200);
          assert.equal(r.error?.statusCode, 403, JSON.stringify(r));
          refused.push(...to);
        }
      }
    }
  }

  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

  assert.deepEqual(
    statuses.filter((s) => s >= 500),
    [],
    `no 5xx; node log:\n${stack.node.logs()}`,
  );
  assert.deepEqual(mismatches, [], 'every GET returns the tenant its own message');
  assert.equal(accepted.size, CLIENTS * (2 * BATCH + 2), 'every valid request was accepted');
  assert.ok(accepted.size >= 300);

  await waitFor(
    'every accepted message to arrive',
    async () => ([...accepted.keys()].every((a) => received(a) >= 1) ? true : undefined),
    240_000,
  ).catch(async (err) => {
    const missing = [...accepted].filter(([a]) => received(a) === 0).map(([, v]) => v.id);
    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    const rows = await db.query(
      `SELECT m.id, m.workflow_started, m.wave_id, array_agg(r.state) AS states
       FROM messages m JOIN recipients r ON r.message_id = m.id WHERE m.id = ANY($1::uuid[]) GROUP BY m.id`,
      [missing],
    );
    await db.end();
    throw new Error(
      `${(err as Error).message}: ${missing.length} missing, e.g. ${JSON.stringify(rows.rows.slice(0, 5))}\nnode log:\n${stack.node.logs().slice(-5000)}`,
    );
  });
  const wrongCounts = [...accepted.keys()].filter((a) => received(a) !== 1);
  assert.deepEqual(wrongCounts, [], 'each accepted message arrived exactly once');
  assert.deepEqual(
    refused.filter((a) => received(a) > 0),
    [],
    'nothing of a refused request was sent',
  );
  // Every message carries its own recipient's body: no message sent to another's address.
  for (const sink of Object.values(stack.sinks)) {
    for (const m of sink.received) {
      assert.equal(m.rcptTo.length, 1);
      assert.match(m.data.toString(), new RegExp(`body for ${m.rcptTo[0]!.replace(/\./g, '\\.')}`));
    }
  }

  // Listing shows each tenant only its own messages.
  for (const name of ['acme', 'globex'] as const) {
    const list = await tenants[name].emails.list({ limit: 100 });
    assert.equal(list.error, null);
    const ids = new Set([...accepted.values()].filter((v) => v.tenant === name).map((v) => v.id));
    assert.ok(list.data!.data.length > 0);
    for (const e of list.data!.data) assert.ok(ids.has(e.id), `${name} lists ${e.id}, not its own`);
  }
});

test('npm start: the delivery console answers with the operator token generated into the data directory', async () => {
  const token = readFileSync(join(stack.dataDir, 'admin-token'), 'utf8').trim();
  assert.ok(token.length >= 24);
  const login = await fetch(`${stack.node.apiUrl}/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
    redirect: 'manual',
  });
  assert.equal(login.status, 303);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const events = await fetch(`${stack.node.apiUrl}/admin/events?tenant=acme&limit=5`, {
    headers: { cookie },
  });
  assert.equal(events.status, 200);
  assert.equal(((await events.json()) as { data: unknown[] }).data.length, 5);
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { pidFromFile } from '../../adapters/child-process-guard.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../adapters/embedded-postgres.js';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const MX = '127.0.1.1';

/**
 * PostgreSQL stopped with an immediate shutdown (SIGQUIT to the postmaster: every backend
 * dies at once, crash recovery at the next start) under load, then started again: the node
 * answers 503 with Retry-After meanwhile, never a 500, does not crash, and delivers every
 * message it answered 200, once (docs/reliability.md, "Accepting"). The server is the
 * test's own, not the machine's.
 */
describe('PostgreSQL restarted under load, or holding a lock', () => {
  let slowReceiver = false;
  let dir: string;
  let postgres: EmbeddedPostgres;
  let stack: Stack;
  let db: pg.Pool;
  let key: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posthorn-pgrestart-'));
    postgres = await startEmbeddedPostgres(join(dir, 'pg'));
    stack = await startStack({
      zones: mxZone('rcpt.test', MX),
      sinks: {
        [MX]: {
          // While set, the MX takes 3 s to answer the final dot: deliveries are in flight.
          hooks: { beforeDataReply: async () => void (slowReceiver ? await delay(3_000) : undefined) },
        },
      },
      env: { DATABASE_URL: postgres.url, POSTHORN_API_RATE: 'off' },
    });
    db = new pg.Pool({ connectionString: postgres.url, max: 2 });
    db.on('error', () => {});
    ({ key } = await tenantClient(stack, 'acme', 'acme.test'));
  });

  after(async () => {
    await db?.end();
    await stack?.stop();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Waits until every recipient of the messages is recorded delivered (ms: 2 min at most). */
  const allDelivered = (ids: readonly string[]) =>
    waitFor(
      `${ids.length} messages recorded delivered`,
      async () => {
        const r = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM recipients WHERE state = 'delivered' AND message_id = ANY($1::uuid[])`,
          [ids],
        );
        return r.rows[0]!.n === ids.length ? true : undefined;
      },
      120_000,
    );

  test('503s while it is down, no 500, no crash; every message answered 200 is delivered once', async () => {
    const accepted: string[] = [];
    const statuses = new Map<number, number>();
    let sending = true;
    let n = 0;
    const sender = async () => {
      while (sending) {
        const i = n++;
        const res = await fetch(`${stack.node.apiUrl}/emails`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ from: 'a@acme.test', to: `r${i}@rcpt.test`, subject: `m${i}`, text: 'x' }),
        }).catch(() => null);
        assert.ok(res, `request ${i}: the node answered`);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const body = (await res.json()) as { id?: string };
        if (res.status === 200) accepted.push(body.id!);
        else {
          assert.equal(res.status, 503, `request ${i}: ${JSON.stringify(body)}`);
          assert.ok(res.headers.get('retry-after'), '503 carries Retry-After');
          await delay(100);
        }
      }
    };
    // One failing sender stops them all, so nothing outlives the test.
    const senders = Array.from({ length: 8 }, () =>
      sender().finally(() => {
        sending = false;
      }),
    );
    await delay(1_500);
    // Immediate shutdown: SIGQUIT to the postmaster.
    const pid = pidFromFile(join(dir, 'pg', 'postmaster.pid'));
    assert.ok(pid, 'the postmaster is running');
    process.kill(pid, 'SIGQUIT');
    await waitFor('PostgreSQL gone', async () => (pidAlive(pid) ? undefined : true));
    await delay(2_000);
    postgres = await startEmbeddedPostgres(join(dir, 'pg'));
    await delay(2_000);
    sending = false;
    await Promise.all(senders);

    assert.ok((statuses.get(503) ?? 0) > 0, `the outage was seen: ${JSON.stringify([...statuses])}`);
    assert.ok(accepted.length > 0);
    const health = await waitFor('the node healthy again', async () => {
      const r = await fetch(`${stack.node.apiUrl}/health`).catch(() => null);
      return r?.status === 200 ? true : undefined;
    });
    assert.equal(health, true);
    await allDelivered(accepted);
    const received = stack.sinks[MX]!.received.flatMap((m) => m.rcptTo);
    const once = new Set(received);
    assert.equal(received.length, once.size, 'no message was delivered twice');
  });

  test('a lock that blocks the delivery log: /health says so, deliveries wait it out, nothing is sent twice', async () => {
    slowReceiver = true;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${stack.node.apiUrl}/emails`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ from: 'a@acme.test', to: `locked${i}@rcpt.test`, subject: 'l', text: 'x' }),
      });
      assert.equal(res.status, 200);
      ids.push(((await res.json()) as { id: string }).id);
    }
    // While the receiver is slow, take a lock that blocks every insert into the event log
    // (SHARE conflicts with ROW EXCLUSIVE) and hold it for 15 s: longer than lock_timeout.
    const locker = await db.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE delivery_events IN SHARE MODE');
    try {
      const sick = await waitFor(
        '/health reporting the stuck journal',
        async () => {
          const r = await fetch(`${stack.node.apiUrl}/health`);
          const body = (await r.json()) as { journal?: boolean };
          return r.status === 503 && body.journal === false ? body : undefined;
        },
        20_000,
      );
      assert.equal(sick.journal, false);
      await delay(15_000 - 5_000);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
      slowReceiver = false;
    }
    await allDelivered(ids);
    const copies = stack.sinks[MX]!.received.filter((m) => m.rcptTo.some((r) => r.startsWith('locked')));
    assert.equal(
      copies.length,
      ids.length,
      'each delivered once: the 250s waited for the lock, not sent again',
    );
    const health = await fetch(`${stack.node.apiUrl}/health`);
    assert.equal(health.status, 200);
  });
});

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

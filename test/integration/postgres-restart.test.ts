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
describe('PostgreSQL restarted under load', () => {
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
      sinks: { [MX]: {} },
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
    await waitFor(
      'every accepted message delivered',
      async () => {
        const r = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM recipients WHERE state = 'delivered' AND message_id = ANY($1::uuid[])`,
          [accepted],
        );
        return r.rows[0]!.n === accepted.length ? true : undefined;
      },
      120_000,
    );
    const received = stack.sinks[MX]!.received.flatMap((m) => m.rcptTo);
    const once = new Set(received);
    assert.equal(received.length, once.size, 'no message was delivered twice');
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

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resend } from 'resend';
import { mxZone } from '../support/dns-server.js';
import { EGRESS_IPS, type Stack, startStack } from '../support/stack.js';
import { sendText, settled, tenantClient } from '../support/tenant.js';

const MX = '127.0.1.1';
const LIMITED_MX = '127.0.1.5';
const MAX_CONNECTIONS = 2;
const MAX_PER_CONNECTION = 5;

describe('delivery engine: DNS matrix, limits at the receiver, connection reuse', () => {
  let stack: Stack;
  let resend: Resend;

  before(async () => {
    stack = await startStack({
      zones: {
        ...mxZone('rcpt.test', MX),
        // RFC 7505 null MX: the domain takes no mail.
        'nullmx.test': { mx: [{ exchange: '', priority: 0 }] },
        // An MX pointing into a private range: never connected to, or a stranger's DNS could
        // aim the node at internal services.
        ...mxZone('private.test', '10.0.0.5'),
        'servfail.test': { servfail: true },
        ...mxZone('limited.test', LIMITED_MX),
      },
      sinks: { [MX]: {}, [LIMITED_MX]: { dataDelayMs: 50 } },
      env: {
        POSTHORN_RETRY_INITIAL: '1s',
        POSTHORN_RETRY_MAX: '1s',
        POSTHORN_RETRY_MAX_AGE: '3s',
        POSTHORN_EGRESS_LIMITS: JSON.stringify({
          sites: {
            'mx.limited.test': {
              maxConnections: MAX_CONNECTIONS,
              maxMessagesPerConnection: MAX_PER_CONNECTION,
            },
          },
        }),
      },
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
  });

  after(async () => {
    await stack?.stop();
  });

  const send = (to: string) => sendText(resend, to);

  async function lastEvent(id: string, event: string) {
    const r = await stack.db.query(
      `SELECT category, detail, mx_host FROM delivery_events WHERE message_id = $1 AND event = $2 ORDER BY id DESC LIMIT 1`,
      [id, event],
    );
    return r.rows[0];
  }

  test('a null MX bounces as domain_unknown without any connection', async () => {
    const before = Object.values(stack.sinks).reduce((n, s) => n + s.connections.length, 0);
    const id = await send('a@nullmx.test');
    assert.equal((await settled(stack, id))[0]!.state, 'bounced');
    assert.equal((await lastEvent(id, 'bounced')).category, 'domain_unknown');
    assert.equal(
      Object.values(stack.sinks).reduce((n, s) => n + s.connections.length, 0),
      before,
    );
  });

  test('an MX in a private range is refused, never connected to', async () => {
    const id = await send('a@private.test');
    assert.equal((await settled(stack, id))[0]!.state, 'bounced');
    const ev = await lastEvent(id, 'bounced');
    assert.match(ev.detail, /5\.4\.4 unroutable/);
  });

  test('SERVFAIL is temporary: deferred as dns_failure, retried, then expired as failed', async () => {
    const id = await send('a@servfail.test');
    const rows = await settled(stack, id);
    assert.equal(rows[0]!.state, 'failed');
    assert.ok(rows[0]!.attempts >= 2, `retried (${rows[0]!.attempts} attempts)`);
    assert.equal((await lastEvent(id, 'deferred')).category, 'dns_failure');
    assert.equal((await lastEvent(id, 'failed')).category, 'expired');
  });

  test('per (IP × site) limits hold at the receiver, and connections are reused', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await send(`r${i}@limited.test`));
    for (const id of ids) assert.equal((await settled(stack, id))[0]!.state, 'delivered');
    const sink = stack.sinks[LIMITED_MX]!;
    assert.equal(sink.received.length, 30);
    for (const ip of EGRESS_IPS) {
      assert.ok(
        sink.peakConcurrent(ip) <= MAX_CONNECTIONS,
        `${ip}: ${sink.peakConcurrent(ip)} concurrent connections`,
      );
    }
    const connections = sink.connections.length;
    assert.ok(connections < 30, `messages shared connections (${connections} connections for 30 messages)`);
    assert.ok(
      connections >= Math.ceil(30 / MAX_PER_CONNECTION),
      `at most ${MAX_PER_CONNECTION} messages per connection`,
    );
  });
});

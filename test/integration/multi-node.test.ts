import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resend } from 'resend';
import { mxZone } from '../support/dns-server.js';
import { freePort } from '../support/ports.js';
import type { PosthornProcess } from '../support/posthorn-process.js';
import { deferOnce } from '../support/smtp-sink.js';
import { type Stack, startStack } from '../support/stack.js';
import { sendText, settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const MX = '127.0.1.1';

/**
 * Two nodes of one deployment (docs/architecture.md, scaling out): each owns its sending IPs
 * and runs the deliveries from them on its own task queue. A message accepted on one node
 * is delivered by the other when only the other's IP may send it, and when the first node
 * dies with the message still to retry.
 */
describe('two nodes, each owning its IPs', () => {
  let stack: Stack;
  let nodeB: PosthornProcess;
  let resend: Resend;
  const deferring = deferOnce();

  before(async () => {
    stack = await startStack({
      zones: {
        ...mxZone('rcpt.test', MX),
      },
      sinks: {
        [MX]: deferring.script,
      },
      // The first node's schedule, carried by its messages' workflows: a retry after 3 s,
      // and a delivery its node has not picked up after 2 s goes to any node.
      env: { POSTHORN_RETRY_INITIAL: '3s', POSTHORN_EGRESS_PICKUP_TIMEOUT: '2s' },
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
    // 127.0.0.3 moves to node b; 127.0.0.2 stays with the first node ("local").
    await stack.node.cli([
      'ips',
      'add',
      '127.0.0.3',
      '--pool',
      'shared',
      '--ehlo',
      'mta2.posthorn.test',
      '--node',
      'b',
    ]);
    const port = await freePort();
    nodeB = stack.node.sibling(
      {
        POSTHORN_NODE_ID: 'b',
        POSTHORN_API_PORT: String(port),
        POSTHORN_INBOUND_PORT: String(await freePort()),
      },
      `http://127.0.0.1:${port}`,
    );
    await nodeB.start();
  });

  after(async () => {
    await nodeB?.stop();
    await stack?.stop();
  });

  const send = (to: string) => sendText(resend, to);

  const from = (rcpt: string) =>
    stack.sinks[MX]!.received.filter((m) => m.rcptTo.includes(rcpt)).map((m) => m.sourceIp);

  test('a node sends from its own IP', async () => {
    const id = await send('local@rcpt.test');
    assert.equal((await settled(stack, id))[0]!.state, 'delivered');
    assert.deepEqual(
      from('local@rcpt.test'),
      ['127.0.0.2'],
      'the accepting node used its own IP, not node b’s',
    );
  });

  test('when only the other node’s IP may send, the message is delivered there', async () => {
    await stack.node.cli(['pause', 'ip', '127.0.0.2', '--reason', 'moving traffic to node b']);
    await waitFor('pause published', async () => {
      const r = await stack.db.query(`SELECT state->'paused' AS p FROM route_state WHERE ip = '127.0.0.2'`);
      return r.rows[0]?.p ? true : undefined;
    });
    const ids = [await send('remote1@rcpt.test'), await send('remote2@rcpt.test')];
    for (const id of ids) assert.equal((await settled(stack, id, 30_000))[0]!.state, 'delivered');
    assert.deepEqual(
      [...from('remote1@rcpt.test'), ...from('remote2@rcpt.test')],
      ['127.0.0.3', '127.0.0.3'],
    );
    const ev = await stack.db.query(
      `SELECT DISTINCT ip FROM delivery_events WHERE event = 'delivered' AND message_id = ANY($1::uuid[])`,
      [ids],
    );
    assert.deepEqual(
      ev.rows.map((r) => r.ip),
      ['127.0.0.3'],
    );
    await stack.node.cli(['resume', 'ip', '127.0.0.2', '--reason', 'done']);
  });

  test('a node that dies holds no retry: past the pickup timeout, the other node delivers it', async () => {
    await waitFor('127.0.0.2 resumed', async () => {
      const r = await stack.db.query(`SELECT state->'paused' AS p FROM route_state WHERE ip = '127.0.0.2'`);
      return r.rows[0] && !r.rows[0].p ? true : undefined;
    });
    deferring.deferNext('orphan@rcpt.test');
    const id = await send('orphan@rcpt.test');
    await waitFor('the first attempt deferred', async () => {
      const r = await stack.db.query(
        `SELECT 1 FROM delivery_events WHERE message_id = $1 AND event = 'deferred'`,
        [id],
      );
      return r.rowCount ? true : undefined;
    });
    // The retry waits on the first node's egress queue, which nobody polls any more.
    await stack.node.kill();
    const rows = await settled(stack, id, 90_000);
    assert.equal(rows[0]!.state, 'delivered');
    assert.deepEqual(from('orphan@rcpt.test'), ['127.0.0.3'], 'delivered once, by node b, from its IP');
    const ev = await stack.db.query<{ event: string; attempt: number; ip: string }>(
      `SELECT event, attempt, ip FROM delivery_events WHERE message_id = $1 AND event IN ('deferred', 'delivered') ORDER BY id`,
      [id],
    );
    assert.deepEqual(
      ev.rows.map((e) => [e.event, e.attempt, e.ip]),
      [
        ['deferred', 1, '127.0.0.2'],
        ['delivered', 2, '127.0.0.3'],
      ],
      'the timed-out pickup is not counted as an attempt',
    );
  });
});

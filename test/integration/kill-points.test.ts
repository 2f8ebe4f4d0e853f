import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resend } from 'resend';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const MX = '127.0.1.1';

type KillPoint = 'connect' | 'rcpt' | 'dot' | 'persisted';

/**
 * SIGKILL the node at each point of an SMTP delivery (docs/reliability.md, "Delivering
 * exactly once, crashes included") and start it again: no message is lost, and a duplicate
 * is possible only in the window after the final dot was sent and before the remote's 250
 * was persisted.
 */
describe('killing the node at each point of a delivery', () => {
  let stack: Stack;
  let resend: Resend;
  // The recipient whose delivery the next kill is armed for, and where.
  let armed: { recipient: string; point: KillPoint; fire: () => void } | null = null;

  function trigger(point: KillPoint, recipient: string | null): Promise<void> {
    if (!armed || armed.point !== point || (recipient !== null && armed.recipient !== recipient))
      return Promise.resolve();
    const a = armed;
    armed = null;
    a.fire();
    // Hold the reply long enough for the kill to land first (ms).
    return new Promise((r) => setTimeout(r, 500));
  }

  before(async () => {
    stack = await startStack({
      zones: {
        ...mxZone('kill.test', MX),
      },
      sinks: {
        [MX]: {
          hooks: {
            beforeGreeting: () => trigger('connect', null),
            beforeRcptReply: (address) => trigger('rcpt', address),
            beforeDataReply: (session) => trigger('dot', session.envelope.rcptTo[0]?.address ?? null),
          },
        },
      },
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
  });

  after(async () => {
    await stack?.stop();
  });

  async function killAt(point: KillPoint, recipient: string): Promise<number> {
    const killed = new Promise<void>((resolve) => {
      armed = { recipient, point, fire: () => void stack.node.kill().then(resolve) };
    });
    const { data, error } = await resend.emails.send({
      from: 'hello@acme.test',
      to: recipient,
      subject: point,
      text: 'x',
    });
    assert.equal(error, null);
    if (point === 'persisted') {
      // The remote's 250 is in the delivery log: kill before the activity can report back.
      await waitFor('delivered persisted', async () => {
        const r = await stack.db.query(
          `SELECT 1 FROM delivery_events WHERE message_id = $1 AND event = 'delivered'`,
          [data!.id],
        );
        return r.rowCount ? true : undefined;
      });
      armed = null;
      await stack.node.kill();
    } else {
      await killed;
    }
    await stack.node.start();
    const rows = await settled(stack, data!.id, 120_000);
    assert.equal(rows[0]!.state, 'delivered', `${point}: delivered after the restart`);
    return stack.sinks[MX]!.received.filter((m) => m.rcptTo.includes(recipient)).length;
  }

  test('killed while the remote greets: delivered once', async () => {
    assert.equal(await killAt('connect', 'connect@kill.test'), 1);
  });

  test('killed after RCPT: delivered once', async () => {
    assert.equal(await killAt('rcpt', 'rcpt@kill.test'), 1);
  });

  test('killed after the final dot, before the reply: delivered, at most one duplicate', async () => {
    const copies = await killAt('dot', 'dot@kill.test');
    assert.ok(copies >= 1 && copies <= 2, `${copies} copies`);
  });

  test('killed after the remote 250 was persisted: never sent again', async () => {
    assert.equal(await killAt('persisted', 'persisted@kill.test'), 1);
  });
});

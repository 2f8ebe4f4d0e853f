import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Resend } from 'resend';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const MX = '127.0.1.1';
const MESSAGES = 30;

let stack: Stack;
let resend: Resend;

before(async () => {
  stack = await startStack({
    zones: mxZone('slow.test', MX),
    // A slow receiver keeps deliveries in flight when the node dies (ms).
    sinks: { [MX]: { dataDelayMs: 300 } },
  });
  ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
});

after(async () => {
  await stack?.stop();
});

test('killing the node mid-run and starting it again loses no message', async () => {
  const ids: string[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const { data, error } = await resend.emails.send({
      from: 'hello@acme.test',
      to: `r${i}@slow.test`,
      subject: `n${i}`,
      text: 'x',
    });
    assert.equal(error, null);
    ids.push(data!.id);
  }
  const sink = stack.sinks[MX]!;
  await waitFor('some deliveries before the crash', async () =>
    sink.received.length >= 3 ? true : undefined,
  );
  await stack.node.kill();
  assert.ok(sink.received.length < MESSAGES, 'the crash happened mid-run');
  // What the journal had settled when the node died: those must never be sent again.
  const persisted = new Set(
    (
      await stack.db.query<{ address: string }>(`SELECT address FROM recipients WHERE state = 'delivered'`)
    ).rows.map((r) => r.address),
  );
  await stack.node.start();

  for (const id of ids) {
    const rows = await settled(stack, id, 120_000);
    assert.equal(rows[0]!.state, 'delivered');
  }
  for (let i = 0; i < MESSAGES; i++) {
    const address = `r${i}@slow.test`;
    const copies = sink.received.filter((m) => m.rcptTo.includes(address)).length;
    if (persisted.has(address)) {
      assert.equal(copies, 1, `${address} was persisted as delivered before the crash: exactly one copy`);
    } else {
      // Cut after the dot and before the 250 was persisted (RFC 5321 §6.1): at most one more.
      assert.ok(copies >= 1 && copies <= 2, `${address}: ${copies} copies`);
    }
  }
});

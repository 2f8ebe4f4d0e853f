import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Resend } from 'resend';
import { type DevStack, startDevStack } from '../support/dev-stack.js';
import { mxZone } from '../support/dns-server.js';
import { waitFor } from '../support/wait.js';

// SIGKILL of `posthorn dev` under load, then a start on the same data directory: the
// embedded PostgreSQL and Temporal dev server it left running are replaced, and every
// message answered 2xx arrives.
const CLIENTS = 16;
const MX = '127.0.1.1';

let stack: DevStack;
let resend: Resend;

before(async () => {
  stack = await startDevStack({
    zones: mxZone('slow.test', MX),
    // A slow receiver keeps deliveries in flight when the node dies (ms).
    sinks: { [MX]: { dataDelayMs: 150 } },
  });
  const key = (
    await stack.node.cli(['keys', 'create', '--tenant', 'acme', '--domain', 'acme.test', '--verified'])
  ).trim();
  resend = new Resend(key, { baseUrl: stack.node.apiUrl });
});

after(async () => {
  await stack?.stop();
});

test('a dev node killed mid-run and started again delivers every message it answered 2xx', async () => {
  const sink = stack.sinks[MX]!;
  const accepted: string[] = [];
  const serverErrors: number[] = [];
  let killedAt = 0;

  async function client(c: number): Promise<void> {
    for (let n = 0; !killedAt; n++) {
      const batch = n % 2 === 1;
      const to = Array.from({ length: batch ? 5 : 1 }, (_, i) => `c${c}-n${n}-${i}@slow.test`);
      const emails = to.map((t) => ({ from: 'hello@acme.test', to: t, subject: t, text: `body for ${t}` }));
      const r = batch ? await resend.batch.send(emails) : await resend.emails.send(emails[0]!);
      if (!r.error) accepted.push(...to);
      // A request cut by the kill has no status (its outcome is unknown to the client).
      else if (!killedAt && (r.error.statusCode ?? 0) >= 500) serverErrors.push(r.error.statusCode!);
    }
  }

  const clients = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  await waitFor(
    'deliveries under way before the crash',
    async () => (sink.received.length >= 30 ? true : undefined),
    120_000,
  );
  killedAt = Date.now();
  await stack.node.kill();
  // What the dead node wrote to its SMTP sockets before it died reaches the receiver in
  // this process a moment later; nothing from the next node comes this early (it first
  // starts PostgreSQL and Temporal) (ms).
  await delay(1_000);
  const diedAt = Date.now();
  await clients;
  const acceptedBeforeKill = accepted.length;
  assert.ok(acceptedBeforeKill > sink.received.length, 'the crash happened with mail still to deliver');

  await stack.node.start();
  await waitFor(
    'every message answered 2xx to arrive',
    async () => (accepted.every((a) => sink.received.some((m) => m.rcptTo.includes(a))) ? true : undefined),
    240_000,
  );
  assert.deepEqual(serverErrors, [], 'no 5xx before the kill');
  // A second copy is acceptable only when the first one's final dot had reached the MX
  // before the node died (it could not record the 250 in time).
  for (const a of accepted) {
    const copies = sink.received.filter((m) => m.rcptTo.includes(a));
    if (copies.length > 1) {
      assert.ok(copies[0]!.dotAt <= diedAt, `${a} sent twice though its first copy came after the kill`);
    }
  }
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Resend } from 'resend';
import { arf, deliverReport } from '../support/bounce-reports.js';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const MX = '127.0.1.1';
const BOUNCE_MX = '127.0.1.2';

function dsn(returnPath: string, recipient: string, status: string, diagnostic: string): string {
  return `From: Mail Delivery System <MAILER-DAEMON@mx.rcpt.test>
To: ${returnPath}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.rcpt.test

Final-Recipient: rfc822; ${recipient}
Action: failed
Status: ${status}
Remote-MTA: dns; store.rcpt.test
Diagnostic-Code: smtp; ${diagnostic}

--B
Content-Type: text/rfc822-headers

From: hello@acme.test
To: ${recipient}
Subject: hi

--B--
`;
}

describe('bounce and complaint intake, suppression', () => {
  let stack: Stack;
  let resend: Resend;

  before(async () => {
    stack = await startStack({
      zones: {
        ...mxZone('rcpt.test', MX),
        ...mxZone('bounce.test', BOUNCE_MX),
      },
      sinks: {
        [MX]: {},
        [BOUNCE_MX]: {
          rcpt: (a) => ({ code: 550, message: `5.1.1 <${a}>: Recipient address rejected: User unknown` }),
        },
      },
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
  });

  after(async () => {
    await stack?.stop();
  });

  async function sendAndDeliver(to: string): Promise<{ id: string; returnPath: string }> {
    const { data, error } = await resend.emails.send({
      from: 'hello@acme.test',
      to,
      subject: 'hi',
      text: 'hello',
    });
    assert.equal(error, null);
    await settled(stack, data!.id);
    const m = stack.sinks[MX]!.received.find((r) => r.rcptTo.includes(to));
    assert.ok(m, `${to} received`);
    return { id: data!.id, returnPath: m.mailFrom };
  }

  async function eventsOf(id: string) {
    return (
      await stack.db.query(
        `SELECT event, recipient, category, detail FROM delivery_events WHERE message_id = $1 ORDER BY id`,
        [id],
      )
    ).rows;
  }

  test('an asynchronous DSN after delivery turns the recipient bounced and suppresses it; the next send is suppressed without SMTP', async () => {
    const { id, returnPath } = await sendAndDeliver('late@rcpt.test');
    const r = await deliverReport(
      stack.inboundPort,
      returnPath,
      dsn(returnPath, 'late@rcpt.test', '5.1.1', '550 5.1.1 <late@rcpt.test>: mailbox does not exist'),
    );
    assert.equal(r.ok, true, r.response);
    const state = await waitFor('bounced state', async () => {
      const row = (await stack.db.query(`SELECT state FROM recipients WHERE message_id = $1`, [id])).rows[0];
      return row.state === 'bounced' ? row.state : undefined;
    });
    assert.equal(state, 'bounced');
    const bounced = (await eventsOf(id)).filter((e) => e.event === 'bounced');
    assert.deepEqual(
      bounced.map((e) => [e.recipient, e.category, e.detail]),
      [['late@rcpt.test', 'recipient_unknown', 'async dsn; action suppress']],
    );
    assert.equal((await resend.emails.get(id)).data!.last_event, 'bounced');

    const entry = await resend.suppressions.get('late@rcpt.test');
    assert.equal(entry.error, null);
    assert.equal(entry.data!.origin, 'bounce');
    assert.equal(entry.data!.source_id, id);

    const before = stack.sinks[MX]!.connections.length;
    const again = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'LATE@rcpt.test',
      subject: 'again',
      text: 'x',
    });
    assert.equal(again.error, null, 'a send to a suppressed address still succeeds');
    const rows = await settled(stack, again.data!.id);
    assert.equal(rows[0]!.state, 'suppressed');
    assert.equal((await resend.emails.get(again.data!.id)).data!.last_event, 'suppressed');
    assert.deepEqual(
      (await eventsOf(again.data!.id)).map((e) => e.event),
      ['suppressed'],
    );
    assert.equal(stack.sinks[MX]!.connections.length, before, 'no SMTP attempt');
  });

  test('a relayed "User unknown" that names neither the command nor an X.1.x status bounces the message but does not suppress the address', async () => {
    const { id, returnPath } = await sendAndDeliver('filtered@rcpt.test');
    const r = await deliverReport(
      stack.inboundPort,
      returnPath,
      dsn(returnPath, 'filtered@rcpt.test', '5.0.0', "550-'Unknown user filtered@rcpt.test'"),
    );
    assert.equal(r.ok, true, r.response);
    const ev = await waitFor('bounced event', async () =>
      (await eventsOf(id)).find((e) => e.event === 'bounced'),
    );
    // The words are kept as the category; the action (fail) bounces without suppressing.
    assert.equal(ev.category, 'recipient_unknown');
    assert.match(ev.detail ?? '', /action fail$/);
    const entry = await resend.suppressions.get('filtered@rcpt.test');
    assert.equal(entry.data, null, 'not suppressed');
    assert.equal(entry.error?.name, 'not_found');
  });

  test('two reports on one connection are each taken in for their own message only', async () => {
    const first = await sendAndDeliver('one@rcpt.test');
    const second = await sendAndDeliver('two@rcpt.test');
    const conn = new SMTPConnection({
      host: '127.0.0.1',
      port: stack.inboundPort,
      ignoreTLS: true,
      name: 'mx.remote.test',
      logger: false,
    });
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect(() => resolve());
    });
    const report = (to: string, raw: string) =>
      new Promise<void>((resolve, reject) =>
        conn.send({ from: '', to: [to] }, raw.replace(/\r?\n/g, '\r\n'), (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    try {
      await report(
        first.returnPath,
        dsn(first.returnPath, 'one@rcpt.test', '5.1.1', '550 5.1.1 <one@rcpt.test>: mailbox does not exist'),
      );
      await new Promise<void>((resolve) => conn.reset(() => resolve()));
      await report(
        second.returnPath,
        dsn(second.returnPath, 'two@rcpt.test', '5.2.2', '552 5.2.2 <two@rcpt.test>: mailbox full'),
      );
    } finally {
      conn.quit();
    }
    const bouncedOf = async (id: string) =>
      (await eventsOf(id)).filter((e) => e.event === 'bounced').map((e) => [e.recipient, e.category]);
    await waitFor('both reports recorded', async () =>
      (await bouncedOf(second.id)).length > 0 ? true : undefined,
    );
    assert.deepEqual(await bouncedOf(first.id), [['one@rcpt.test', 'recipient_unknown']]);
    assert.deepEqual(await bouncedOf(second.id), [['two@rcpt.test', 'mailbox_full']]);
  });

  test('an ARF complaint records `complained` and suppresses with origin complaint', async () => {
    const { id, returnPath } = await sendAndDeliver('angry@rcpt.test');
    const r = await deliverReport(stack.inboundPort, returnPath, arf(returnPath, 'angry@rcpt.test'));
    assert.equal(r.ok, true, r.response);
    const ev = await waitFor('complaint event', async () =>
      (await eventsOf(id)).find((e) => e.event === 'complained'),
    );
    assert.equal(ev.category, 'complaint');
    const entry = await resend.suppressions.get('angry@rcpt.test');
    assert.equal(entry.data!.origin, 'complaint');
    const row = (await stack.db.query(`SELECT state FROM recipients WHERE message_id = $1`, [id])).rows[0];
    assert.equal(row.state, 'delivered', 'a complaint does not undo the delivery');
  });

  test('a synchronous hard bounce suppresses the recipient', async () => {
    const { data } = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'nobody@bounce.test',
      subject: 'hi',
      text: 'x',
    });
    await settled(stack, data!.id);
    const entry = await waitFor('suppression', async () => {
      const e = await resend.suppressions.get('nobody@bounce.test');
      return e.data ?? undefined;
    });
    assert.equal(entry.origin, 'bounce');
  });

  test('mail to anything but a valid VERP address is refused', async () => {
    const { returnPath } = await sendAndDeliver('verp@rcpt.test');
    const plain = await deliverReport(
      stack.inboundPort,
      'postmaster@send.acme.test',
      dsn('x', 'verp@rcpt.test', '5.1.1', '550 unknown'),
    );
    assert.equal(plain.ok, false);
    assert.match(plain.response, /^550/);
    // Flip one character of the token: the HMAC no longer matches.
    const at = returnPath.indexOf('@');
    const last = returnPath[at - 1] === 'a' ? 'b' : 'a';
    const forged = `${returnPath.slice(0, at - 1)}${last}${returnPath.slice(at)}`;
    const r = await deliverReport(
      stack.inboundPort,
      forged,
      dsn(forged, 'verp@rcpt.test', '5.1.1', '550 unknown'),
    );
    assert.equal(r.ok, false);
    assert.equal((await resend.suppressions.get('verp@rcpt.test')).error?.name, 'not_found');
  });

  test('the suppression API lists, adds and removes entries', async () => {
    const added = await resend.suppressions.add({ email: 'manual@rcpt.test' });
    assert.equal(added.error, null);
    const list = await resend.suppressions.list({ limit: 100 });
    assert.ok(list.data!.data.some((s) => s.email === 'manual@rcpt.test' && s.origin === 'manual'));
    const removed = await resend.suppressions.remove('manual@rcpt.test');
    assert.equal(removed.data!.deleted, true);
    assert.equal((await resend.suppressions.get(added.data!.id)).error?.name, 'not_found');
    const bad = await resend.suppressions.add({ email: 'not an address' });
    assert.equal(bad.error?.statusCode, 422);
  });
});

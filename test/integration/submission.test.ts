import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Resend } from 'resend';
import { ensureSelfSignedCertificate } from '../../adapters/tls-certificate.js';
import { mxZone } from '../support/dns-server.js';
import { freePort } from '../support/ports.js';
import { plainCredentials, RawSmtpClient } from '../support/smtp-client.js';
import { type Stack, startStack } from '../support/stack.js';
import { recipientsOf, settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const OK_MX = '127.0.1.1';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

// Every test speaks from a loopback address of its own: the listener counts connections
// and failed authentications per client address.
const CLIENT = {
  starttls: '127.0.0.11',
  implicit: '127.0.0.12',
  noTls: '127.0.0.13',
  guesser: '127.0.0.14',
  unverified: '127.0.0.15',
  recipients: '127.0.0.16',
  crowd: '127.0.0.17',
  stripped: '127.0.0.18',
  busy: '127.0.0.19',
};
// Bursts of 30 sending requests per tenant, one more an hour: enough for the tests, few
// enough to use up, and nothing comes back while a test runs.
const RATE_BURST = 30;

describe('SMTP submission → accept path → Temporal → SMTP, on real parts', () => {
  let stack: Stack;
  let resend: Resend;
  let key: string;
  let certDir: string;
  let ca: string;
  let port: number;
  let tlsPort: number;

  before(async () => {
    // The certificate `posthorn dev` would make, made by the same code; the test trusts it.
    certDir = await mkdtemp(join(tmpdir(), 'posthorn-submission-'));
    const made = ensureSelfSignedCertificate(certDir, 'localhost', new Date());
    ca = readFileSync(made.certPath, 'utf8');
    port = await freePort();
    tlsPort = await freePort();
    stack = await startStack({
      zones: mxZone('rcpt.test', OK_MX),
      sinks: { [OK_MX]: {} },
      env: {
        POSTHORN_SUBMISSION_PORT: String(port),
        POSTHORN_SUBMISSIONS_PORT: String(tlsPort),
        POSTHORN_TLS_CERT: made.certPath,
        POSTHORN_TLS_KEY: made.keyPath,
        POSTHORN_API_RATE: `1/h,burst=${RATE_BURST}`,
      },
    });
    ({ resend, key } = await tenantClient(stack, 'acme', 'acme.test'));
    const shown = JSON.parse(await stack.node.cli(['domains', 'show', 'acme.test'])) as {
      records: { record: string; name: string; value: string }[];
    };
    for (const r of shown.records.filter((x) => x.record === 'DKIM')) {
      stack.dns.set(r.name, { txt: [r.value.match(/.{1,255}/g)!] });
    }
    // A domain of the tenant that is not verified, and an address it suppressed.
    await stack.node.cli(['keys', 'create', '--tenant', 'acme', '--domain', 'unverified.test']);
    await stack.node.cli(['suppressions', 'add', '--tenant', 'acme', 'gone@rcpt.test']);
  });

  after(async () => {
    await stack?.stop();
    if (certDir) await rm(certDir, { recursive: true, force: true });
  });

  const transport = (o: { implicit?: boolean; localAddress: string; pass?: string; login?: true }) =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port: o.implicit ? tlsPort : port,
      secure: o.implicit === true,
      requireTLS: !o.implicit,
      localAddress: o.localAddress,
      // nodemailer uses PLAIN when both are offered; LOGIN is asked for by name.
      authMethod: o.login ? 'LOGIN' : 'PLAIN',
      auth: { user: 'resend', pass: o.pass ?? key },
      tls: { ca, servername: 'localhost' },
    });

  const receivedBy = (rcpt: string) => stack.sinks[OK_MX]!.received.filter((m) => m.rcptTo.includes(rcpt));

  async function dkimResults(data: Buffer) {
    const resolver = new Resolver();
    resolver.setServers([stack.dns.address]);
    const dkim = await dkimVerify(data, { resolver: (name: string) => resolver.resolveTxt(name) });
    return dkim.results.map((r) => [(r as { algo?: string }).algo, r.signingDomain, r.status.result]).sort();
  }

  function compose(o: { from: string; to: string; subject: string; headers?: Record<string, string> }) {
    return new MailComposer({
      ...o,
      text: 'Hello,\n.\na lone dot above, and ünïcödé here.\n',
      html: '<p>Hello, <b>world</b></p>',
      attachments: [{ filename: 'note.txt', content: 'attached text' }],
      messageId: `<${o.subject.replace(/\W/g, '')}@app.acme.test>`,
      date: new Date('2026-12-06T12:00:00Z'),
      newline: '\r\n',
      xMailer: false,
    })
      .compile()
      .build();
  }

  test('587: STARTTLS then AUTH with the API key; delivered once, DKIM-signed, the submitted message intact', async () => {
    const raw = await compose({
      from: 'Acme <hello@acme.test>',
      to: 'ann@rcpt.test',
      subject: 'Over STARTTLS',
    });
    const info = await transport({ localAddress: CLIENT.starttls }).sendMail({
      envelope: { from: 'hello@acme.test', to: ['ann@rcpt.test'] },
      raw,
    });
    const id = new RegExp(`^250 2\\.0\\.0 Ok: queued as (${UUID})$`).exec(info.response)?.[1];
    assert.ok(id, `queued with an id: ${info.response}`);
    assert.deepEqual(
      (await settled(stack, id)).map((r) => [r.address, r.state]),
      [['ann@rcpt.test', 'delivered']],
    );
    const got = receivedBy('ann@rcpt.test');
    assert.equal(got.length, 1, 'delivered exactly once');
    const m = got[0]!;
    assert.match(
      m.mailFrom,
      /^bounces\+.+@send\.acme\.test$/,
      'the return path is our own, not the envelope sender',
    );
    // The DKIM signatures are prepended; every byte the client sent follows unchanged.
    const text = m.data.toString('latin1');
    assert.ok(text.startsWith('DKIM-Signature:'));
    assert.ok(
      m.data.subarray(m.data.length - raw.length).equals(raw),
      'the submitted message arrives byte for byte',
    );
    assert.deepEqual(await dkimResults(m.data), [
      ['ed25519-sha256', 'acme.test', 'pass'],
      ['rsa-sha256', 'acme.test', 'pass'],
    ]);
    // The same record as an API send: GET /emails/{id} shows it.
    const email = await resend.emails.get(id);
    assert.equal(email.error, null);
    assert.equal(email.data!.subject, 'Over STARTTLS');
    assert.equal(email.data!.from, 'Acme <hello@acme.test>');
    assert.deepEqual(email.data!.to, ['ann@rcpt.test']);
    assert.equal(email.data!.message_id, '<OverSTARTTLS@app.acme.test>');
    assert.match(email.data!.text ?? '', /a lone dot above, and ünïcödé here/);
  });

  test('465: implicit TLS then AUTH LOGIN; delivered once with DKIM', async () => {
    const info = await transport({ implicit: true, localAddress: CLIENT.implicit, login: true }).sendMail({
      from: 'Acme <hello@acme.test>',
      to: 'bea@rcpt.test',
      subject: 'Over implicit TLS',
      text: 'Body over 465',
    });
    const id = new RegExp(`queued as (${UUID})`).exec(info.response)?.[1];
    assert.ok(id, info.response);
    await settled(stack, id);
    const got = receivedBy('bea@rcpt.test');
    assert.equal(got.length, 1);
    assert.match(got[0]!.data.toString(), /Body over 465/);
    assert.deepEqual(
      (await dkimResults(got[0]!.data)).map((r) => r[2]),
      ['pass', 'pass'],
    );
  });

  test('fields the API refuses are stripped; Date and Message-ID are added where missing', async () => {
    const raw = Buffer.from(
      [
        'From: hello@acme.test',
        'To: cat@rcpt.test',
        'Bcc: hidden@rcpt.test',
        'Subject: Stripped',
        'DKIM-Signature: v=1; a=rsa-sha256; d=elsewhere.test; s=x; b=Zm9v; bh=YmFy; h=From',
        'X-Spam-Status: No',
        'Disposition-Notification-To: hello@acme.test',
        'Resend-Idempotency-Key: welcome/1',
        'Received: from laptop.acme.test by relay.acme.test; Sun, 6 Dec 2026 12:00:00 +0000',
        'X-Custom: kept',
        '',
        'body',
        '',
      ].join('\r\n'),
    );
    const info = await transport({ localAddress: CLIENT.stripped }).sendMail({
      envelope: { from: 'hello@acme.test', to: ['cat@rcpt.test'] },
      raw,
    });
    const id = new RegExp(`queued as (${UUID})`).exec(info.response)![1]!;
    await settled(stack, id);
    const [m] = receivedBy('cat@rcpt.test');
    const head = m!.data.toString('latin1').split('\r\n\r\n')[0]!;
    for (const gone of ['Bcc', 'X-Spam-Status', 'Disposition-Notification-To', 'Resend-Idempotency-Key']) {
      assert.doesNotMatch(head, new RegExp(`^${gone}:`, 'im'), `${gone} is stripped`);
    }
    assert.doesNotMatch(head, /d=elsewhere\.test/, "the client's DKIM-Signature is stripped");
    assert.match(head, /^Received: from laptop\.acme\.test/m, 'trace fields are kept (RFC 5321 §4.4)');
    assert.match(head, /^X-Custom: kept$/m);
    assert.match(head, new RegExp(`^Message-ID: <${id}@acme\\.test>$`, 'm'));
    assert.match(head, /^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/m);
    assert.deepEqual(
      (await dkimResults(m!.data)).map((r) => r[2]),
      ['pass', 'pass'],
    );
  });

  test('587 without TLS: AUTH is neither offered nor taken, and no mail is; then STARTTLS, AUTH and recipient checks', async () => {
    const c = await RawSmtpClient.open('127.0.0.1', port, { localAddress: CLIENT.noTls });
    try {
      assert.equal((await c.reply()).code, 220);
      const ehlo = await c.command('EHLO client.test');
      assert.equal(ehlo.code, 250);
      assert.ok(ehlo.lines.includes('STARTTLS'), ehlo.text);
      assert.ok(!ehlo.lines.some((l) => l.startsWith('AUTH')), `no AUTH before TLS: ${ehlo.text}`);
      assert.ok(ehlo.lines.includes('SIZE 41943040'), 'SIZE: the 40 MB the API takes');
      const auth = await c.command(`AUTH PLAIN ${plainCredentials('resend', key)}`);
      assert.ok(auth.code >= 500, `AUTH refused before STARTTLS: ${auth.code} ${auth.text}`);
      const mail = await c.command('MAIL FROM:<hello@acme.test>');
      assert.equal(mail.code, 530);
      assert.match(mail.text, /STARTTLS/);
      // After STARTTLS the same session offers AUTH and takes the key.
      assert.equal((await c.startTls(ca)).code, 220);
      const secured = await c.command('EHLO client.test');
      assert.ok(secured.lines.includes('AUTH PLAIN LOGIN'), secured.text);
      assert.equal((await c.command(`AUTH PLAIN ${plainCredentials('anyone', key)}`)).code, 235);
      // Recipients the API would refuse are refused one by one: an invalid address, then
      // any past the API's 50.
      assert.equal((await c.command('MAIL FROM:<hello@acme.test>')).code, 250);
      const invalid = await c.command('RCPT TO:<someone@localhost>');
      assert.equal(invalid.code, 553, invalid.text);
      for (let i = 0; i < 50; i++) assert.equal((await c.command(`RCPT TO:<r${i}@rcpt.test>`)).code, 250);
      const tooMany = await c.command('RCPT TO:<r50@rcpt.test>');
      assert.equal(tooMany.code, 452);
      assert.match(tooMany.text, /^4\.5\.3 Too many recipients/);
      assert.equal((await c.command('RSET')).code, 250);
    } finally {
      c.close();
    }
  });

  test('wrong passwords are refused, then the address is refused altogether for a while', async () => {
    // A session opened before the failures, already under TLS.
    const early = await RawSmtpClient.open('127.0.0.1', port, { localAddress: CLIENT.guesser });
    assert.equal((await early.reply()).code, 220);
    await early.command('EHLO client.test');
    await early.startTls(ca);
    await early.command('EHLO client.test');
    try {
      for (let i = 0; i < 5; i++) {
        await assert.rejects(
          transport({ localAddress: CLIENT.guesser, pass: `re_wrong${i}` }).sendMail({
            from: 'hello@acme.test',
            to: 'dan@rcpt.test',
            subject: 's',
            text: 't',
          }),
          (err: { responseCode?: number; response?: string }) =>
            err.responseCode === 535 && /5\.7\.8/.test(err.response ?? ''),
        );
      }
      // Even the right key is refused now: in the open session with 454 …
      const auth = await early.command(`AUTH PLAIN ${plainCredentials('resend', key)}`);
      assert.equal(auth.code, 454);
      assert.match(auth.text, /Too many failed authentications/);
      // … and a new connection with 421 at the greeting.
      await assert.rejects(
        transport({ localAddress: CLIENT.guesser }).sendMail({
          from: 'hello@acme.test',
          to: 'dan@rcpt.test',
          subject: 's',
          text: 't',
        }),
        (err: { response?: string }) => /^421 .*Too many failed authentications/.test(err.response ?? ''),
      );
      assert.equal(receivedBy('dan@rcpt.test').length, 0);
    } finally {
      early.close();
    }
  });

  test('a From domain that is not verified is refused at DATA with a clear reply, and nothing is stored', async () => {
    const before = await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages');
    await assert.rejects(
      transport({ localAddress: CLIENT.unverified }).sendMail({
        from: 'hello@unverified.test',
        to: 'eve@rcpt.test',
        subject: 's',
        text: 't',
      }),
      (err: { responseCode?: number; response?: string }) =>
        err.responseCode === 550 &&
        /5\.7\.1 The unverified\.test domain is not verified/.test(err.response ?? ''),
    );
    await assert.rejects(
      transport({ localAddress: CLIENT.unverified }).sendMail({
        from: 'hello@stranger.test',
        to: 'eve@rcpt.test',
        subject: 's',
        text: 't',
      }),
      (err: { responseCode?: number; response?: string }) =>
        err.responseCode === 550 && /stranger\.test domain is not registered/.test(err.response ?? ''),
    );
    const after = await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages');
    assert.equal(after.rows[0]!.n, before.rows[0]!.n);
  });

  test('a suppressed recipient is refused at RCPT; the others of the transaction get the message', async () => {
    const info = await transport({ localAddress: CLIENT.recipients }).sendMail({
      envelope: { from: 'hello@acme.test', to: ['fay@rcpt.test', 'gone@rcpt.test', 'gus@rcpt.test'] },
      raw: await compose({ from: 'hello@acme.test', to: 'fay@rcpt.test', subject: 'Partly refused' }),
    });
    assert.deepEqual(info.rejected, ['gone@rcpt.test']);
    const [refusal] = (info as unknown as { rejectedErrors: { responseCode: number; response: string }[] })
      .rejectedErrors;
    assert.equal(refusal!.responseCode, 550);
    assert.match(refusal!.response, /suppression list/);
    const id = new RegExp(`queued as (${UUID})`).exec(info.response)![1]!;
    assert.deepEqual(
      (await settled(stack, id)).map((r) => [r.address, r.state]),
      [
        ['fay@rcpt.test', 'delivered'],
        ['gus@rcpt.test', 'delivered'],
      ],
    );
    assert.equal(receivedBy('gone@rcpt.test').length, 0, 'the refused recipient gets nothing');
    const copies = stack.sinks[OK_MX]!.received.filter((m) =>
      m.rcptTo.some((r) => r === 'fay@rcpt.test' || r === 'gus@rcpt.test'),
    );
    assert.equal(copies.flatMap((m) => m.rcptTo).length, 2, 'one copy for each accepted recipient');
    // gus is in no header field: stored as Bcc, as the API would show it.
    const email = await resend.emails.get(id);
    assert.deepEqual(email.data!.bcc, ['gus@rcpt.test']);
    assert.deepEqual(
      (await recipientsOf(stack, id)).map((r) => r.address),
      ['fay@rcpt.test', 'gus@rcpt.test'],
    );
  });

  test('a client may hold 20 connections; the next is refused with 421', async () => {
    const open: RawSmtpClient[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const c = await RawSmtpClient.open('127.0.0.1', port, { localAddress: CLIENT.crowd });
        assert.equal((await c.reply()).code, 220);
        open.push(c);
      }
      const extra = await RawSmtpClient.open('127.0.0.1', tlsPort, {
        localAddress: CLIENT.crowd,
        tls: { ca },
      });
      open.push(extra);
      const greeting = await extra.reply();
      assert.equal(greeting.code, 421);
      assert.match(greeting.text, /Too many connections/);
      // One closes: room for the next.
      open.shift()!.close();
      await waitFor('a freed connection slot', async () => {
        const c = await RawSmtpClient.open('127.0.0.1', port, { localAddress: CLIENT.crowd });
        open.push(c);
        return (await c.reply()).code === 220 ? true : undefined;
      });
    } finally {
      for (const c of open) c.close();
    }
  });

  test("the tenant's request rate is one budget for the API and SMTP: used up over HTTP, MAIL is refused", async () => {
    const busy = await tenantClient(stack, 'busy', 'busy.test');
    const post = () =>
      fetch(`${stack.node.apiUrl}/emails`, {
        method: 'POST',
        headers: { authorization: `Bearer ${busy.key}`, 'content-type': 'application/json' },
        body: '{}',
      }).then((r) => r.status);
    // Every sending request takes from the budget, refused ones too (422 here).
    for (let i = 0; i < RATE_BURST; i++) assert.equal(await post(), 422);
    assert.equal(await post(), 429);
    await assert.rejects(
      transport({ localAddress: CLIENT.busy, pass: busy.key }).sendMail({
        from: 'hello@busy.test',
        to: 'hal@rcpt.test',
        subject: 's',
        text: 't',
      }),
      (err: { responseCode?: number; response?: string }) =>
        err.responseCode === 451 &&
        /^451 4\.7\.0 Too many messages for this account/.test(err.response ?? ''),
    );
  });
});

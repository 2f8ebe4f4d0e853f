import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import type { Resend } from 'resend';
import type { WaveResult } from '../../workflows/contract.js';
import { mxZone } from '../support/dns-server.js';
import { EGRESS_IPS, type Stack, startStack } from '../support/stack.js';
import { recipientsOf, settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

// Destinations, each served by its own scripted receiver on 127.0.1.x.
const OK_MX = '127.0.1.1';
const BOUNCE_MX = '127.0.1.2';
const GREY_MX = '127.0.1.3';
const DEAD_MX = '127.0.1.4'; // nothing listens here: connection refused

const greylisted = new Set<string>();

describe('HTTP API → Temporal → SMTP, on real parts', () => {
  let stack: Stack;
  let resend: Resend;
  let key: string;

  before(async () => {
    stack = await startStack({
      zones: {
        ...mxZone('rcpt.test', OK_MX),
        ...mxZone('bounce.test', BOUNCE_MX),
        ...mxZone('grey.test', GREY_MX),
        // The preferred MX refuses connections; the second one works (RFC 5321 §5.1).
        'fallback.test': {
          mx: [
            { exchange: 'dead.fallback.test', priority: 5 },
            { exchange: 'mx.rcpt.test', priority: 20 },
          ],
        },
        'dead.fallback.test': { a: [DEAD_MX] },
        // No MX, only an address record: the domain is its own MX.
        'implicit.test': { a: [OK_MX] },
      },
      sinks: {
        [OK_MX]: {},
        [BOUNCE_MX]: {
          rcpt: (a) => ({
            code: 550,
            message: `5.1.1 <${a}>: Recipient address rejected: User unknown in virtual mailbox table`,
          }),
        },
        [GREY_MX]: {
          rcpt: (a) => {
            if (greylisted.has(a)) return null;
            greylisted.add(a);
            return { code: 451, message: '4.7.1 Greylisted, please try again in 1 second' };
          },
        },
      },
      env: { POSTHORN_RETRY_INITIAL: '1s', POSTHORN_RETRY_MAX: '2s', POSTHORN_RETRY_GREYLIST: '1s' },
    });
    ({ resend, key } = await tenantClient(stack, 'acme', 'acme.test'));
    // Publish what `posthorn domains show` asks for, as a customer would.
    const shown = JSON.parse(await stack.node.cli(['domains', 'show', 'acme.test'])) as {
      records: { record: string; name: string; value: string }[];
    };
    for (const r of shown.records.filter((x) => x.record === 'DKIM')) {
      stack.dns.set(r.name, { txt: [r.value.match(/.{1,255}/g)!] });
    }
  });

  after(async () => {
    await stack?.stop();
  });

  const received = (host: string, rcpt: string) =>
    stack.sinks[host]!.received.filter((m) => m.rcptTo.includes(rcpt));

  test('a single send reaches the receiver once, from a configured source IP, with envelope, headers and body', async () => {
    const { data, error, headers } = await resend.emails.send({
      from: 'Acme <hello@acme.test>',
      to: 'ann@rcpt.test',
      subject: 'Welcome aboard',
      text: 'Hello Ann,\n.\nA line with a lone dot above.',
      html: '<p>Hello Ann</p>',
      headers: { 'X-Entity-Ref-ID': 'ref-1' },
      tags: [{ name: 'category', value: 'welcome' }],
    });
    assert.equal(error, null);
    assert.match(data!.id, /^[0-9a-f-]{36}$/);
    assert.ok(Number(headers?.['ratelimit-limit']) > 0, 'rate-limit headers on every send');
    const rows = await settled(stack, data!.id);
    assert.deepEqual(
      rows.map((r) => [r.address, r.state]),
      [['ann@rcpt.test', 'delivered']],
    );
    const copies = received(OK_MX, 'ann@rcpt.test');
    assert.equal(copies.length, 1);
    const m = copies[0]!;
    assert.ok(EGRESS_IPS.includes(m.sourceIp), `source ${m.sourceIp}`);
    assert.equal(m.ehloName, `mta${EGRESS_IPS.indexOf(m.sourceIp) + 1}.posthorn.test`);
    assert.match(
      m.mailFrom,
      /^bounces\+[a-z2-7]+@send\.acme\.test$/,
      'VERP return path on the bounce subdomain',
    );
    assert.deepEqual(m.rcptTo, ['ann@rcpt.test']);
    assert.equal(m.tls, true, 'STARTTLS offered by the receiver is used');
    const text = m.data.toString('utf8');
    assert.match(text, /^From: Acme <hello@acme\.test>\r$/m);
    assert.match(text, /^To: ann@rcpt\.test\r$/m);
    assert.match(text, /^Subject: Welcome aboard\r$/m);
    assert.match(text, /^X-Entity-Ref-ID: ref-1\r$/m);
    assert.match(text, new RegExp(`^Message-ID: <${data!.id}@acme\\.test>\\r$`, 'm'));
    assert.match(text, /^\.\r$/m, 'a lone dot line arrives un-stuffed');
    assert.ok(!/(?<!\r)\n/.test(text), 'every line ends in CRLF');
    const resolver = new Resolver();
    resolver.setServers([stack.dns.address]);
    // The receiver's view: keys come from DNS, as the domain published them.
    const dkim = await dkimVerify(m.data, { resolver: (name: string) => resolver.resolveTxt(name) });
    const signatures = dkim.results.map((r) => [
      (r as { algo?: string }).algo,
      r.signingDomain,
      r.status.result,
    ]);
    assert.deepEqual(
      signatures.sort(),
      [
        ['ed25519-sha256', 'acme.test', 'pass'],
        ['rsa-sha256', 'acme.test', 'pass'],
      ],
      'both DKIM signatures verify at the receiver against the published keys',
    );

    const got = await resend.emails.get(data!.id);
    assert.equal(got.error, null);
    assert.equal(got.data!.last_event, 'delivered');
    assert.deepEqual(got.data!.to, ['ann@rcpt.test']);
    assert.equal(got.data!.subject, 'Welcome aboard');

    const event = await stack.db.query(
      `SELECT ip, mx_host, reply_code, sending_domain, recipient_domain, message_type, tls FROM delivery_events
       WHERE message_id = $1 AND event = 'delivered'`,
      [data!.id],
    );
    assert.equal(event.rowCount, 1);
    assert.equal(event.rows[0].ip, m.sourceIp);
    assert.equal(event.rows[0].mx_host, 'mx.rcpt.test');
    assert.equal(event.rows[0].reply_code, 250);
    assert.equal(event.rows[0].sending_domain, 'acme.test');
    assert.equal(event.rows[0].recipient_domain, 'rcpt.test');
    assert.equal(event.rows[0].message_type, 'transactional');
    assert.match(event.rows[0].tls, /^TLSv1\.[23] /);
  });

  test('long lines are encoded before signing: no wire line over 998 octets, DKIM still verifies', async () => {
    const text = ['a'.repeat(998), 'b'.repeat(999), 'c'.repeat(1000), '.', '..leading dot'].join('\n');
    const html = `<p>${'x'.repeat(200_000)}</p>`;
    const { data, error } = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'long@rcpt.test',
      subject: 'long',
      text,
      html,
    });
    assert.equal(error, null);
    assert.equal((await settled(stack, data!.id))[0]!.state, 'delivered');
    const m = received(OK_MX, 'long@rcpt.test')[0]!;
    const longest = Math.max(
      ...m.data
        .toString('latin1')
        .split('\r\n')
        .map((l) => Buffer.byteLength(l, 'latin1')),
    );
    assert.ok(longest <= 998, `longest line ${longest} octets (RFC 5322 §2.1.1)`);
    const resolver = new Resolver();
    resolver.setServers([stack.dns.address]);
    const dkim = await dkimVerify(m.data, { resolver: (name: string) => resolver.resolveTxt(name) });
    assert.deepEqual(
      dkim.results.map((r) => r.status.result),
      ['pass', 'pass'],
    );
  });

  test("the message's delivery wave is findable by the message id, tenant and sending domain", async () => {
    const { data } = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'sa@rcpt.test',
      subject: 's',
      text: 't',
    });
    await settled(stack, data!.id);
    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      const client = new Client({ connection });
      const found = await waitFor('visibility', async () => {
        const ids: string[] = [];
        for await (const wf of client.workflow.list({
          query: `PosthornMessageIds = "${data!.id}" AND PosthornTenants = "acme" AND PosthornSendingDomains = "acme.test"`,
        })) {
          ids.push(wf.workflowId);
        }
        return ids.length > 0 ? ids : undefined;
      });
      assert.equal(found.length, 1);
      const result: WaveResult = await client.workflow.getHandle(found[0]!).result();
      assert.equal(result.settled, 1);
      assert.deepEqual(result.continued, []);
    } finally {
      await connection.close();
    }
  });

  test('a batch send stores and delivers every email', async () => {
    const { data, error } = await resend.batch.send([
      { from: 'hello@acme.test', to: 'b1@rcpt.test', subject: 'one', text: '1' },
      { from: 'hello@acme.test', to: ['b2@rcpt.test', 'b3@implicit.test'], subject: 'two', text: '2' },
    ]);
    assert.equal(error, null);
    assert.equal(data!.data.length, 2);
    for (const { id } of data!.data) {
      const rows = await settled(stack, id);
      assert.ok(
        rows.every((r) => r.state === 'delivered'),
        JSON.stringify(rows),
      );
    }
    assert.equal(received(OK_MX, 'b1@rcpt.test').length, 1);
    assert.equal(received(OK_MX, 'b2@rcpt.test').length, 1);
    assert.equal(received(OK_MX, 'b3@implicit.test').length, 1, 'a domain without MX is its own MX');
  });

  test('an idempotent repeat gives the same id and one delivery; another body with the key is a 409', async () => {
    const email = { from: 'hello@acme.test', to: 'idem@rcpt.test', subject: 'once', text: 'only once' };
    const first = await resend.emails.send(email, { idempotencyKey: 'welcome/42' });
    const second = await resend.emails.send(email, { idempotencyKey: 'welcome/42' });
    assert.equal(first.error, null);
    assert.equal(second.data!.id, first.data!.id);
    await settled(stack, first.data!.id);
    const other = await resend.emails.send({ ...email, text: 'changed' }, { idempotencyKey: 'welcome/42' });
    assert.equal(other.error?.name, 'invalid_idempotent_request');
    assert.equal(other.error?.statusCode, 409);
    const count = await stack.db.query(
      `SELECT count(*)::int AS n FROM recipients WHERE address = 'idem@rcpt.test'`,
    );
    assert.equal(count.rows[0].n, 1);
    assert.equal(received(OK_MX, 'idem@rcpt.test').length, 1);
  });

  test('validation errors come back in Resend’s shape and store nothing', async () => {
    const before = (await stack.db.query('SELECT count(*)::int AS n FROM messages')).rows[0].n;
    const missing = await resend.emails.send({ to: 'x@rcpt.test', subject: 's', text: 't' } as never);
    assert.deepEqual(missing.error, {
      statusCode: 422,
      name: 'missing_required_field',
      message: 'Missing `from` field.',
    });
    const crlf = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'x@rcpt.test',
      subject: 'hi\r\nBcc: victim@evil.test',
      text: 't',
    });
    assert.equal(crlf.error?.statusCode, 422);
    assert.equal(crlf.error?.name, 'validation_error');
    assert.match(crlf.error!.message, /subject/);
    const header = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'x@rcpt.test',
      subject: 's',
      text: 't',
      headers: { 'X-A': 'a\nb' },
    });
    assert.equal(header.error?.statusCode, 422);
    const badTo = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'not-an-address',
      subject: 's',
      text: 't',
    });
    assert.equal(badTo.error?.name, 'validation_error');
    const foreign = await resend.emails.send({
      from: 'someone@other.test',
      to: 'x@rcpt.test',
      subject: 's',
      text: 't',
    });
    assert.equal(foreign.error?.statusCode, 403);
    assert.equal(foreign.error?.name, 'validation_error');
    const badBatch = await resend.batch.send([
      { from: 'hello@acme.test', to: 'ok@rcpt.test', subject: 's', text: 't' },
      { from: 'hello@acme.test', to: 'x@rcpt.test', subject: 's\n', text: 't' },
    ]);
    assert.equal(badBatch.error?.statusCode, 422, 'a strict batch with one bad email stores none');
    const after = (await stack.db.query('SELECT count(*)::int AS n FROM messages')).rows[0].n;
    assert.equal(after, before);

    const noKey = await fetch(`${stack.node.apiUrl}/emails`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(noKey.status, 401);
    assert.deepEqual(await noKey.json(), {
      statusCode: 401,
      name: 'missing_api_key',
      message: 'Missing API key in the authorization header.',
    });
    const wrongKey = await fetch(`${stack.node.apiUrl}/emails`, {
      method: 'POST',
      headers: { authorization: 'Bearer re_nope' },
    });
    assert.equal(wrongKey.status, 403);
    assert.equal(((await wrongKey.json()) as { name: string }).name, 'invalid_api_key');
    const empty = await fetch(`${stack.node.apiUrl}/emails`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    });
    assert.equal(empty.status, 422, 'an empty JSON body is read as no body, not a syntax error');
    const unknown = await resend.emails.get('00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.error?.name, 'not_found');
  });

  test('list pages newest first with cursors', async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const { data } = await resend.emails.send({
        from: 'hello@acme.test',
        to: `list${n}@rcpt.test`,
        subject: `list ${n}`,
        text: 't',
      });
      ids.push(data!.id);
    }
    const page1 = await resend.emails.list({ limit: 2 });
    assert.equal(page1.error, null);
    assert.deepEqual(
      page1.data!.data.map((e) => e.id),
      [ids[2], ids[1]],
    );
    assert.equal(page1.data!.has_more, true);
    const page2 = await resend.emails.list({ limit: 2, after: ids[1] });
    assert.equal(page2.data!.data[0]!.id, ids[0]);
    const back = await resend.emails.list({ limit: 1, before: ids[0] });
    assert.deepEqual(
      back.data!.data.map((e) => e.id),
      [ids[1]],
    );
    assert.equal(back.data!.has_more, true);
  });

  test('a 550 at RCPT ends as bounced, with the reply recorded', async () => {
    const { data } = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'gone@bounce.test',
      subject: 's',
      text: 't',
    });
    const rows = await settled(stack, data!.id);
    assert.equal(rows[0]!.state, 'bounced');
    assert.equal(rows[0]!.attempts, 1, 'a permanent failure is not retried');
    const ev = await stack.db.query(
      `SELECT reply_code, enhanced_status, category, phase FROM delivery_events WHERE message_id = $1 AND event = 'bounced'`,
      [data!.id],
    );
    assert.deepEqual(ev.rows[0], {
      reply_code: 550,
      enhanced_status: '5.1.1',
      category: 'recipient_unknown',
      phase: 'rcpt',
    });
    assert.equal((await resend.emails.get(data!.id)).data!.last_event, 'bounced');
    assert.equal(stack.sinks[BOUNCE_MX]!.received.length, 0);
  });

  test('a 451 then 250 is delivered after a durable retry, with one delivery_delayed event', async () => {
    const { data } = await resend.emails.send({
      from: 'hello@acme.test',
      to: ['g1@grey.test', 'g2@grey.test'],
      subject: 's',
      text: 't',
    });
    const rows = await settled(stack, data!.id);
    assert.deepEqual(
      rows.map((r) => [r.state, r.attempts]),
      [
        ['delivered', 2],
        ['delivered', 2],
      ],
    );
    const events = await stack.db.query(
      `SELECT event FROM delivery_events WHERE message_id = $1 ORDER BY id`,
      [data!.id],
    );
    const names = events.rows.map((r) => r.event);
    assert.equal(names.filter((n) => n === 'deferred').length, 2);
    assert.equal(names.filter((n) => n === 'delivery_delayed').length, 1);
    assert.equal(names.filter((n) => n === 'delivered').length, 2);
    assert.equal(stack.sinks[GREY_MX]!.received.length, 1, 'both recipients in one transaction');
  });

  test('an unreachable MX falls back to the next MX', async () => {
    const { data } = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'fb@fallback.test',
      subject: 's',
      text: 't',
    });
    const rows = await settled(stack, data!.id);
    assert.equal(rows[0]!.state, 'delivered');
    assert.equal(rows[0]!.attempts, 1);
    assert.equal(received(OK_MX, 'fb@fallback.test').length, 1);
    const ev = await stack.db.query(
      `SELECT mx_host FROM delivery_events WHERE message_id = $1 AND event = 'delivered'`,
      [data!.id],
    );
    assert.equal(ev.rows[0].mx_host, 'mx.rcpt.test');
  });

  test('a domain that does not exist bounces without a connection', async () => {
    const { data } = await resend.emails.send({
      from: 'hello@acme.test',
      to: 'who@nowhere.test',
      subject: 's',
      text: 't',
    });
    const rows = await settled(stack, data!.id);
    assert.equal(rows[0]!.state, 'bounced');
    const ev = await stack.db.query(
      `SELECT category FROM delivery_events WHERE message_id = $1 AND event = 'bounced'`,
      [data!.id],
    );
    assert.equal(ev.rows[0].category, 'domain_unknown');
    assert.deepEqual(await recipientsOf(stack, data!.id), rows);
  });
});

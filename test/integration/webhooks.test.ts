import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resend } from 'resend';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_EVENT_TYPES } from '../../core/webhooks/events.js';
import { arf, deliverReport } from '../support/bounce-reports.js';
import { mxZone } from '../support/dns-server.js';
import { deferOnce } from '../support/smtp-sink.js';
import { EGRESS_IPS, type Stack, startStack } from '../support/stack.js';
import { settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';
import {
  type ReceivedWebhook,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../support/webhook-receiver.js';

const MX = '127.0.1.1';
/** Generous waits: the machine may be busy (ms). */
const LONG = 120_000;

/**
 * Webhooks end to end (docs/reliability.md, "Webhooks"): a node with mail going to a
 * loopback MX and webhook endpoints on a loopback HTTP receiver, driven through the
 * official `resend` SDK; signatures checked with the SDK's verify and `standardwebhooks`.
 */
describe('webhooks', () => {
  let stack: Stack;
  let receiver: WebhookReceiver;
  let acme: Resend;
  let beta: Resend;
  const slow = deferOnce();

  before(async () => {
    receiver = await startWebhookReceiver();
    stack = await startStack({
      zones: {
        ...mxZone('rcpt.test', MX),
        'private-hook.test': { a: ['10.0.0.1'] },
        'metadata-hook.test': { a: ['169.254.169.254'] },
      },
      sinks: {
        [MX]: {
          rcpt(address, session) {
            if (address.startsWith('bad')) return { code: 550, message: '5.1.1 <bad>: user unknown' };
            if (address.startsWith('never')) return { code: 451, message: '4.3.0 try again later' };
            return slow.script.rcpt!(address, session);
          },
        },
      },
      env: {
        POSTHORN_WEBHOOK_RETRY_SCALE: '0.001',
        POSTHORN_WEBHOOK_DISABLE_AFTER: '5s',
        POSTHORN_RETRY_INITIAL: '1s',
        POSTHORN_RETRY_MAX: '2s',
        POSTHORN_RETRY_MAX_AGE: '8s',
      },
    });
    ({ resend: acme } = await tenantClient(stack, 'acme', 'acme.test'));
    ({ resend: beta } = await tenantClient(stack, 'beta', 'beta.test'));
  });

  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  async function createWebhook(client: Resend, path: string, events: readonly string[]) {
    const { data, error } = await client.webhooks.create({
      endpoint: receiver.url(path),
      events: events as never,
    });
    assert.equal(error, null, JSON.stringify(error));
    assert.match(data!.signing_secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    return { id: data!.id, secret: data!.signing_secret };
  }

  async function send(to: string, extra: { tags?: { name: string; value: string }[] } = {}) {
    const { data, error } = await acme.emails.send({
      from: 'hello@acme.test',
      to,
      subject: `to ${to}`,
      text: 'hi',
      ...extra,
    });
    assert.equal(error, null, JSON.stringify(error));
    return data!.id;
  }

  function verifyBoth(hook: ReceivedWebhook, secret: string): void {
    const h = hook.headers as Record<string, string>;
    // The official SDK's verify, as a Resend customer calls it (Svix header names).
    acme.webhooks.verify({
      payload: hook.body,
      headers: { id: h['svix-id']!, timestamp: h['svix-timestamp']!, signature: h['svix-signature']! },
      webhookSecret: secret,
    });
    // The Standard Webhooks reference implementation, with its own header names.
    new Webhook(secret).verify(hook.body, {
      'webhook-id': h['webhook-id']!,
      'webhook-timestamp': h['webhook-timestamp']!,
      'webhook-signature': h['webhook-signature']!,
    });
  }

  function findHook(path: string, type: string, emailId: string): ReceivedWebhook | undefined {
    return receiver.on(path).find((r) => r.json.type === type && r.json.data.email_id === emailId);
  }

  test("every event type Posthorn emits arrives in Resend's shape, signed so that resend.webhooks.verify() and standardwebhooks accept it", {
    timeout: 300_000,
  }, async () => {
    const all = await createWebhook(acme, '/all', WEBHOOK_EVENT_TYPES);

    const delivered = await send('ok@rcpt.test', { tags: [{ name: 'category', value: 'confirm_email' }] });
    const bounced = await send('bad@rcpt.test');
    slow.deferNext('slow@rcpt.test');
    const delayed = await send('slow@rcpt.test');
    const failed = await send('never@rcpt.test');
    await settled(stack, bounced);
    // On the suppression list now: the next send is suppressed without SMTP.
    const suppressed = await send('bad@rcpt.test');
    await settled(stack, delivered);
    const returnPath = stack.sinks[MX]!.received.find((m) => m.rcptTo.includes('ok@rcpt.test'))!.mailFrom;
    const report = await deliverReport(stack.inboundPort, returnPath, arf(returnPath, 'ok@rcpt.test'));
    assert.ok(report.ok, report.response);

    const expected: [string, string][] = [
      ['email.sent', delivered],
      ['email.delivered', delivered],
      ['email.complained', delivered],
      ['email.sent', bounced],
      ['email.bounced', bounced],
      ['email.suppressed', suppressed],
      ['email.delivery_delayed', delayed],
      ['email.delivered', delayed],
      ['email.delivery_delayed', failed],
      ['email.failed', failed],
    ];
    const hooks = await waitFor(
      'every event type at the endpoint',
      async () => {
        const found = expected.map(([type, id]) => findHook('/all', type, id));
        return found.every(Boolean) ? (found as ReceivedWebhook[]) : undefined;
      },
      LONG,
    );

    for (const hook of hooks) {
      verifyBoth(hook, all.secret);
      assert.equal(hook.headers['svix-id'], hook.headers['webhook-id']);
      assert.equal(hook.headers['content-type'], 'application/json');
      const { data } = hook.json;
      assert.equal(data.from, 'hello@acme.test');
      assert.match(String(data.subject), /^to /);
      assert.ok(Array.isArray(data.to));
      assert.ok(!Number.isNaN(Date.parse(hook.json.created_at)), 'created_at is a date');
      assert.ok(!Number.isNaN(Date.parse(String(data.created_at))), 'data.created_at is a date');
    }
    // email.sent is one per email (the log has a queued event per recipient).
    assert.equal(
      receiver.on('/all').filter((r) => r.json.type === 'email.sent' && r.json.data.email_id === delivered)
        .length,
      1,
    );

    const sent = findHook('/all', 'email.delivered', delivered)!;
    assert.deepEqual(
      sent.json.data.tags,
      { category: 'confirm_email' },
      'tags as an object map, as Resend sends them',
    );
    assert.deepEqual(sent.json.data.to, ['ok@rcpt.test']);
    assert.equal(sent.json.data.recipient, 'ok@rcpt.test');

    const bounce = findHook('/all', 'email.bounced', bounced)!.json.data.bounce as Record<string, unknown>;
    assert.equal(bounce.type, 'Permanent');
    assert.equal(bounce.subType, 'NoEmail');
    assert.equal(bounce.category, 'recipient_unknown');
    assert.equal(bounce.permanence, 'permanent');
    assert.equal(typeof bounce.ruleId, 'string');
    assert.equal(bounce.action, 'suppress', 'a confirmed unknown user is suppressed');
    assert.equal(bounce.mx, 'mx.rcpt.test');
    assert.ok(EGRESS_IPS.includes(String(bounce.ip)), `bounce.ip ${bounce.ip}`);
    assert.match(String(bounce.message), /^550 5\.1\.1/);
    assert.deepEqual(bounce.diagnosticCode, [`smtp; ${bounce.message}`]);

    assert.equal(
      (findHook('/all', 'email.failed', failed)!.json.data.failed as { reason: string }).reason,
      'expired',
    );
    assert.equal(
      (findHook('/all', 'email.suppressed', suppressed)!.json.data.suppressed as { type: string }).type,
      'OnAccountSuppressionList',
    );

    // The deliveries log lists the event under the id the receiver saw, with its payload.
    const deliveredHook = findHook('/all', 'email.delivered', delivered)!;
    const eventId = String(deliveredHook.headers['svix-id']);
    const got = await acme.webhooks.events.get({ webhookId: all.id, eventId } as never);
    assert.equal(got.error, null, JSON.stringify(got.error));
    const event = got.data as unknown as { id: string; type: string; status: string; payload: unknown };
    assert.equal(event.id, eventId);
    assert.equal(event.type, 'email.delivered');
    assert.deepEqual(event.payload, JSON.parse(deliveredHook.body));
    await waitFor('the event recorded as a success', async () => {
      const e = await acme.webhooks.events.get({ webhookId: all.id, eventId } as never);
      return (e.data as unknown as { status: string })?.status === 'success' ? true : undefined;
    });
    const list = await acme.webhooks.events.list({ webhookId: all.id } as never);
    assert.ok((list.data as unknown as { data: { id: string }[] }).data.some((e) => e.id === eventId));
  });

  test('a receiver answering 500 twice, then 200, gets the event three times with the same id; Retry-After is honoured', {
    timeout: 180_000,
  }, async () => {
    const hook = await createWebhook(acme, '/flaky', ['email.delivered']);
    receiver.script('/flaky', (_req, nth) =>
      nth === 1
        ? { status: 500, body: 'first failure' }
        : nth === 2
          ? { status: 500, body: 'x'.repeat(5000), headers: { 'retry-after': '1' } }
          : { status: 200, body: 'thanks' },
    );
    await send('flaky@rcpt.test');
    const got = await waitFor(
      'three requests',
      async () => (receiver.on('/flaky').length >= 3 ? receiver.on('/flaky') : undefined),
      LONG,
    );
    const ids = new Set(got.map((r) => r.headers['svix-id']));
    assert.equal(ids.size, 1, 'the same event id on every attempt');
    for (const r of got) verifyBoth(r, hook.secret);
    assert.equal(got[0]!.body, got[2]!.body, 'the same payload on every attempt');

    const eventId = String(got[0]!.headers['svix-id']);
    const attempts = await waitFor('three attempts recorded', async () => {
      const a = await acme.webhooks.events.attempts.list({ webhookId: hook.id, eventId } as never);
      const rows = (
        a.data as unknown as { data: { http_status_code: number; response: string; sent_at: string }[] }
      )?.data;
      return rows?.length === 3 ? rows : undefined;
    });
    assert.deepEqual(
      attempts.map((a) => a.http_status_code),
      [200, 500, 500],
    );
    assert.equal(attempts[0]!.response, 'thanks');
    assert.equal(attempts[1]!.response.length, 1024, 'the first 1 KB of a response is kept');
    // The retry after the 500 with Retry-After: 1 waited at least a second (the scaled schedule says 300 ms).
    assert.ok(Date.parse(attempts[0]!.sent_at) - Date.parse(attempts[1]!.sent_at) >= 900);
    const e = await acme.webhooks.events.get({ webhookId: hook.id, eventId } as never);
    assert.equal((e.data as unknown as { status: string }).status, 'success');
  });

  test('an endpoint resolving to 10.0.0.1 or 169.254.169.254 is never connected to: its attempts are recorded as refused', {
    timeout: 180_000,
  }, async () => {
    const priv = await createWebhook(acme, '/unused', ['email.sent']);
    const { error: e1 } = await acme.webhooks.update(priv.id, { endpoint: 'https://private-hook.test/hook' });
    assert.equal(e1, null);
    const { data: meta, error: e2 } = await acme.webhooks.create({
      endpoint: 'https://metadata-hook.test/latest/meta-data',
      events: ['email.sent'],
    });
    assert.equal(e2, null);
    await send('guard@rcpt.test');
    for (const webhookId of [priv.id, meta!.id]) {
      const attempt = await waitFor(
        'a refused attempt',
        async () => {
          const list = await acme.webhooks.events.list({ webhookId } as never);
          const ev = (list.data as unknown as { data: { id: string }[] }).data[0];
          if (!ev) return undefined;
          const a = await acme.webhooks.events.attempts.list({ webhookId, eventId: ev.id } as never);
          return (
            a.data as unknown as {
              data: { outcome: string; http_status_code: number | null; response: string }[];
            }
          ).data[0];
        },
        LONG,
      );
      assert.equal(attempt.outcome, 'refused');
      assert.equal(attempt.http_status_code, null);
      assert.match(attempt.response, /egress guard/);
    }
  });

  test('endpoints are validated at create and update: https only, no private or metadata addresses', async () => {
    const good = await createWebhook(acme, '/valid', ['email.sent']);
    for (const endpoint of [
      'http://hooks.example.com/x',
      'ftp://hooks.example.com/x',
      'not a url',
      'https://10.0.0.1/hook',
      'https://169.254.169.254/latest',
      'https://[fd00::1]/hook',
      'https://100.64.0.1/hook',
      'https://user:pw@hooks.example.com/x',
    ]) {
      const created = await acme.webhooks.create({ endpoint, events: ['email.sent'] });
      assert.equal(created.error?.statusCode, 422, `create ${endpoint}`);
      const updated = await acme.webhooks.update(good.id, { endpoint });
      assert.equal(updated.error?.statusCode, 422, `update ${endpoint}`);
    }
    const badEvents = await acme.webhooks.create({
      endpoint: receiver.url('/x'),
      events: ['email.nope'] as never,
    });
    assert.equal(badEvents.error?.statusCode, 422);
    const noEvents = await acme.webhooks.create({ endpoint: receiver.url('/x'), events: [] as never });
    assert.equal(noEvents.error?.statusCode, 422);
  });

  test("a tenant never sees or changes another tenant's webhooks", async () => {
    const mine = await createWebhook(acme, '/mine', ['email.sent']);
    await send('mine@rcpt.test');
    const eventId = await waitFor('an event', async () => {
      const l = await acme.webhooks.events.list({ webhookId: mine.id } as never);
      return (l.data as unknown as { data: { id: string }[] }).data[0]?.id;
    });
    const theirs = await createWebhook(beta, '/theirs', ['email.sent']);
    const results = {
      get: await beta.webhooks.get(mine.id),
      update: await beta.webhooks.update(mine.id, { status: 'disabled' }),
      rotate: await beta.webhooks.rotateSigningSecret(mine.id),
      events: await beta.webhooks.events.list({ webhookId: mine.id } as never),
      event: await beta.webhooks.events.get({ webhookId: mine.id, eventId } as never),
      attempts: await beta.webhooks.events.attempts.list({ webhookId: mine.id, eventId } as never),
      replay: await beta.webhooks.events.replay({ webhookId: mine.id, eventId } as never),
      crossed: await beta.webhooks.events.get({ webhookId: theirs.id, eventId } as never),
      remove: await beta.webhooks.remove(mine.id),
    };
    for (const [what, r] of Object.entries(results)) {
      assert.equal(r.error?.statusCode, 404, `${what}: ${JSON.stringify(r)}`);
      assert.equal(r.error?.name, 'not_found');
    }
    const list = await beta.webhooks.list();
    const ids = (list.data as unknown as { data: { id: string }[] }).data.map((w) => w.id);
    assert.deepEqual(ids, [theirs.id]);
    const still = await acme.webhooks.get(mine.id);
    assert.equal(still.data?.status, 'enabled');
    assert.equal((still.data as unknown as { signing_secret: string }).signing_secret, mine.secret);
  });

  test('after a rotation, deliveries carry signatures by the old and the new secret', {
    timeout: 120_000,
  }, async () => {
    const hook = await createWebhook(acme, '/rotated', ['email.sent']);
    const rotated = await acme.webhooks.rotateSigningSecret(hook.id);
    assert.equal(rotated.error, null);
    const fresh = (rotated.data as unknown as { signing_secret: string }).signing_secret;
    assert.notEqual(fresh, hook.secret);
    const id = await send('rotated@rcpt.test');
    const got = await waitFor('the event', async () => findHook('/rotated', 'email.sent', id), LONG);
    assert.equal(String(got.headers['svix-signature']).split(' ').length, 2);
    verifyBoth(got, hook.secret);
    verifyBoth(got, fresh);
    assert.throws(
      () => verifyBoth(got, `whsec_${Buffer.alloc(24, 7).toString('base64')}`),
      'another secret fails',
    );
    const current = await acme.webhooks.get(hook.id);
    assert.equal((current.data as unknown as { signing_secret: string }).signing_secret, fresh);
  });

  test('an endpoint failing for the configured time is disabled, visible in GET; PATCH re-enables it and a replay delivers the same event', {
    timeout: 240_000,
  }, async () => {
    const hook = await createWebhook(acme, '/down', ['email.sent']);
    let up = false;
    receiver.script('/down', () => (up ? { status: 204 } : { status: 503, body: 'down' }));
    await send('down@rcpt.test');
    const disabled = await waitFor(
      'the endpoint disabled',
      async () => {
        const w = await acme.webhooks.get(hook.id);
        return w.data?.status === 'disabled' ? w.data : undefined;
      },
      LONG,
    );
    assert.equal((disabled as unknown as { disabled_reason: string }).disabled_reason, 'failing');
    const failedIds = new Set(receiver.on('/down').map((r) => r.headers['svix-id']));
    assert.equal(failedIds.size, 1);

    up = true;
    const patched = await acme.webhooks.update(hook.id, { status: 'enabled' });
    assert.equal(patched.error, null);
    const eventId = String([...failedIds][0]);
    const replayed = await acme.webhooks.events.replay({ webhookId: hook.id, eventId } as never);
    assert.equal(replayed.error, null, JSON.stringify(replayed.error));
    await waitFor(
      'the event delivered',
      async () => {
        const e = await acme.webhooks.events.get({ webhookId: hook.id, eventId } as never);
        return (e.data as unknown as { status: string })?.status === 'success' ? true : undefined;
      },
      LONG,
    );
    const last = receiver.on('/down').at(-1)!;
    assert.equal(last.headers['svix-id'], eventId, 'the replay keeps the event id');
    verifyBoth(last, hook.secret);
    assert.equal((await acme.webhooks.get(hook.id)).data?.status, 'enabled');
  });

  test('posthorn webhooks create, list, test and replay', { timeout: 180_000 }, async () => {
    const created = JSON.parse(
      await stack.node.cli([
        'webhooks',
        'create',
        '--tenant',
        'acme',
        '--endpoint',
        receiver.url('/cli'),
        '--events',
        'email.sent',
      ]),
    ) as { id: string; signing_secret: string };
    assert.match(created.signing_secret, /^whsec_/);
    const listed = (await stack.node.cli(['webhooks', 'list', '--tenant', 'acme']))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; signing_secret?: string });
    assert.ok(listed.some((w) => w.id === created.id));
    assert.ok(
      listed.every((w) => w.signing_secret === undefined),
      'the list prints no secrets',
    );

    const tested = JSON.parse(await stack.node.cli(['webhooks', 'test', created.id])) as {
      id: string;
      http_status_code: number;
    };
    assert.equal(tested.http_status_code, 200);
    const sample = receiver.on('/cli').find((r) => r.headers['svix-id'] === tested.id)!;
    verifyBoth(sample, created.signing_secret);

    const id = await send('cli@rcpt.test');
    const first = await waitFor('the event', async () => findHook('/cli', 'email.sent', id), LONG);
    const eventId = String(first.headers['svix-id']);
    await waitFor('recorded as a success', async () => {
      const r = await stack.db.query(`SELECT status FROM webhook_events WHERE id = $1`, [eventId]);
      return r.rows[0]?.status === 'success' ? true : undefined;
    });
    await stack.node.cli(['webhooks', 'replay', created.id, eventId]);
    const again = await waitFor(
      'the replayed event',
      async () => receiver.on('/cli').filter((r) => r.headers['svix-id'] === eventId)[1],
      LONG,
    );
    assert.equal(again.body, first.body);
  });

  test('a node killed after recording a delivery, with the webhook not yet answered, posts it after restart with the same id', {
    timeout: 300_000,
  }, async () => {
    const hook = await createWebhook(acme, '/kill', ['email.delivered']);
    let killed: Promise<void> | null = null;
    receiver.script('/kill', (_req, nth) => {
      if (nth > 1) return { status: 200 };
      killed = stack.node.kill();
      return 'hold';
    });
    const id = await send('killed@rcpt.test');
    await waitFor('the first post', async () => (killed ? true : undefined), LONG);
    await killed!;
    // The delivery is recorded and its webhook event queued, not yet attempted to an end.
    const row = await stack.db.query(
      `SELECT we.id, we.attempts, we.status FROM webhook_events we WHERE we.webhook_id = $1`,
      [hook.id],
    );
    assert.equal(row.rowCount, 1);
    assert.equal(row.rows[0].attempts, 0);
    assert.notEqual(row.rows[0].status, 'success');

    await stack.node.start();
    const second = await waitFor('the event posted after restart', async () => receiver.on('/kill')[1], LONG);
    const first = receiver.on('/kill')[0]!;
    assert.equal(second.headers['svix-id'], first.headers['svix-id']);
    assert.equal(second.headers['svix-id'], row.rows[0].id);
    assert.equal(second.json.data.email_id, id);
    verifyBoth(second, hook.secret);
    await waitFor(
      'recorded as a success',
      async () => {
        const r = await stack.db.query(`SELECT status FROM webhook_events WHERE id = $1`, [row.rows[0].id]);
        return r.rows[0]?.status === 'success' ? true : undefined;
      },
      LONG,
    );
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Resend } from 'resend';
import { TRUST_AND_SAFETY_ACTOR } from '../../core/limits/safety.js';
import { mxZone } from '../support/dns-server.js';
import { freePort } from '../support/ports.js';
import type { PosthornProcess } from '../support/posthorn-process.js';
import { type ScriptedPeer, startScriptedPeer } from '../support/scripted-peer.js';
import { type Stack, startStack } from '../support/stack.js';
import { sendText, settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const MX = '127.0.1.1';
const BOUNCING_MX = '127.0.1.2';
const ADMIN_TOKEN = 'tenant-limits-test-operator-token';
/** Every tenant of this file may make 20 requests back to back, then one a day. */
const BURST = 20;

async function adminGet<T>(stack: Stack, path: string): Promise<T> {
  const r = await fetch(`${stack.node.apiUrl}${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(r.status, 200, `${path}: ${r.status}`);
  return (await r.json()) as T;
}

const messagesOf = async (stack: Stack, tenant: string) =>
  (
    await stack.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM messages m JOIN tenants t ON t.id = m.tenant_id WHERE t.name = $1`,
      [tenant],
    )
  ).rows[0]!.n;

/**
 * Per-tenant limits that hold across nodes (docs/operations.md, "Trust and safety"): one
 * request rate shared by two nodes, daily and monthly quotas with Resend's 429s through the
 * SDK, and an automatic pause when a receiver hard-bounces a tenant's mail, lifted by an
 * operator with `posthorn resume`.
 */
describe('tenant limits and trust and safety', () => {
  let stack: Stack;
  let nodeB: PosthornProcess;
  let bouncing: ScriptedPeer;

  before(async () => {
    stack = await startStack({
      zones: { ...mxZone('rcpt.test', MX), ...mxZone('bounce.test', BOUNCING_MX) },
      sinks: { [MX]: {} },
      env: {
        POSTHORN_API_RATE: `1/d,burst=${BURST}`,
        POSTHORN_ADMIN_TOKEN: ADMIN_TOKEN,
        // Judged every second, from 20 sent on (the defaults: every minute, from 100).
        POSTHORN_SAFETY_INTERVAL: '1s',
        POSTHORN_SAFETY_MIN_VOLUME: '20',
        // Tenants that have never sent start at 40 recipients a day.
        POSTHORN_TENANT_RAMP: '40,max=1000',
      },
    });
    // A receiver that refuses every recipient as unknown (a hard bounce, RFC 3463 5.1.1), on
    // the port the node sends to.
    bouncing = await startScriptedPeer(
      BOUNCING_MX,
      (event) => {
        if (event.kind !== 'command') return undefined;
        if (event.verb === 'RCPT')
          return ['550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table\r\n'];
        // As Postfix answers a pipelined DATA after every RCPT failed (RFC 2920 §3.1).
        if (event.verb === 'DATA') return ['554 5.5.1 Error: no valid recipients\r\n'];
        return undefined;
      },
      stack.smtpPort,
    );
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
    await bouncing?.close();
    await stack?.stop();
  });

  test('two nodes share one tenant rate: the burst passes once between them, the rest get 429', async () => {
    const { key } = await tenantClient(stack, 'rated', 'rated.test');
    const nodes = [
      new Resend(key, { baseUrl: stack.node.apiUrl }),
      new Resend(key, { baseUrl: nodeB.apiUrl }),
    ];
    const results = await Promise.all(
      Array.from({ length: 3 * BURST }, (_, i) =>
        nodes[i % 2]!.emails.send({
          from: 'hi@rated.test',
          to: `r${i}@rcpt.test`,
          subject: 's',
          text: 't',
        }).then((r) => ({ node: i % 2, ...r })),
      ),
    );
    const accepted = results.filter((r) => r.data);
    const refused = results.filter((r) => r.error);
    assert.equal(accepted.length, BURST, 'per-node buckets would have let twice the burst through');
    assert.equal(refused.length, 2 * BURST);
    for (const r of refused) {
      assert.equal(r.error!.name, 'rate_limit_exceeded');
      assert.equal(r.error!.statusCode, 429);
      assert.ok(Number(r.headers?.['retry-after']) >= 1, 'Retry-After in seconds');
      assert.equal(r.headers?.['ratelimit-remaining'], '0');
      assert.equal(r.headers?.['ratelimit-limit'], String(BURST));
    }
    assert.deepEqual(
      [0, 1].map((n) => refused.some((r) => r.node === n)),
      [true, true],
      'both nodes refused',
    );
    assert.equal(await messagesOf(stack, 'rated'), BURST, 'exactly the accepted requests were stored');
  });

  test('a daily quota counts recipients; past it the SDK gets 429 daily_quota_exceeded, batches all or none', async () => {
    const { resend } = await tenantClient(stack, 'quota', 'quota.test');
    await stack.node.cli(['tenants', 'set', 'quota', '--daily-quota', '3']);
    const send = (to: string[]) => resend.emails.send({ from: 'hi@quota.test', to, subject: 's', text: 't' });

    assert.ok((await send(['a@rcpt.test', 'b@rcpt.test'])).data);
    const over = await send(['c@rcpt.test', 'd@rcpt.test']);
    assert.equal(over.data, null);
    assert.deepEqual(over.error, {
      statusCode: 429,
      name: 'daily_quota_exceeded',
      message: 'You have reached your daily email sending quota.',
    });
    const batch = await resend.batch.send([
      { from: 'hi@quota.test', to: 'e@rcpt.test', subject: 's', text: 't' },
      { from: 'hi@quota.test', to: 'f@rcpt.test', subject: 's', text: 't' },
    ]);
    assert.equal(batch.error?.name, 'daily_quota_exceeded', 'two more recipients would make four');
    assert.equal(await messagesOf(stack, 'quota'), 1, 'nothing of the refused batch was stored');

    assert.ok((await send(['e@rcpt.test'])).data, 'the last recipient of the day fits');
    assert.equal((await send(['f@rcpt.test'])).error?.name, 'daily_quota_exceeded');
    const shown = JSON.parse(await stack.node.cli(['tenants', 'show', 'quota']));
    assert.equal(shown.dailyQuota, 3);
    assert.equal(shown.usedToday, 3);
  });

  test('a monthly quota gives 429 monthly_quota_exceeded', async () => {
    const { resend } = await tenantClient(stack, 'monthly', 'monthly.test');
    await stack.node.cli(['tenants', 'set', 'monthly', '--monthly-quota', '2']);
    const send = (to: string) => resend.emails.send({ from: 'hi@monthly.test', to, subject: 's', text: 't' });
    assert.ok((await send('m1@rcpt.test')).data);
    assert.ok((await send('m2@rcpt.test')).data);
    const over = await send('m3@rcpt.test');
    assert.equal(over.error?.statusCode, 429);
    assert.equal(over.error?.name, 'monthly_quota_exceeded');
  });

  test('a tenant that has never sent starts on the sending ramp; past its cap the 429 says so', async () => {
    const newcomer = await tenantClient(stack, 'newcomer', 'newcomer.test');
    await sendText(newcomer.resend, 'n1@rcpt.test', 'hi@newcomer.test');
    const shown = JSON.parse(await stack.node.cli(['tenants', 'show', 'newcomer']));
    assert.equal(shown.rampCap, 40);
    assert.equal(shown.usedToday, 1);

    const { resend } = await tenantClient(stack, 'starter', 'starter.test');
    await stack.node.cli(['tenants', 'set', 'starter', '--ramp', '2']);
    await sendText(resend, ['s1@rcpt.test', 's2@rcpt.test'], 'hi@starter.test');
    const over = await resend.emails.send({
      from: 'hi@starter.test',
      to: 's3@rcpt.test',
      subject: 's',
      text: 't',
    });
    assert.equal(over.error?.statusCode, 429);
    assert.equal(over.error?.name, 'daily_quota_exceeded');
    assert.match(over.error!.message, /ramps up it may send to 2 recipients a day/);
  });

  test('hard bounces past the threshold pause the tenant: a paused event, new mail refused, resumed by the CLI', async () => {
    const { resend } = await tenantClient(stack, 'bouncy', 'bouncy.test');
    const batch = await resend.batch.send(
      Array.from({ length: 25 }, (_, i) => ({
        from: 'news@bouncy.test',
        to: `gone${i}@bounce.test`,
        subject: 's',
        text: 't',
      })),
    );
    assert.equal(batch.data?.data.length, 25, JSON.stringify(batch.error));
    // Accepted before the pause, first tried after it: it must wait, not go and not be lost.
    const scheduled = await resend.emails.send({
      from: 'news@bouncy.test',
      to: 'later@rcpt.test',
      subject: 's',
      text: 't',
      scheduledAt: new Date(Date.now() + 40_000).toISOString(),
    });
    assert.ok(scheduled.data, JSON.stringify(scheduled.error));

    type Events = { data: { event: string; tenant: string; message_id: string | null; detail: string }[] };
    const paused = await waitFor(
      'the paused event',
      async () => {
        const r = await adminGet<Events>(stack, '/admin/events?tenant=bouncy&event=paused');
        return r.data[0];
      },
      60_000,
    );
    assert.equal(paused.message_id, null, 'a tenant event, not a message’s');
    assert.match(
      paused.detail,
      /^tenant bouncy paused by posthorn:trust-and-safety: hard-bounce rate 100% \((\d+) hard bounces of \1 sent in the last 1d\) is over 5%$/,
    );
    assert.equal(bouncing.copies(), 0, 'every recipient was refused at RCPT');

    const pauses = await adminGet<{
      scopes: { scope: string; value: string; actor: string; reason: string }[];
    }>(stack, '/admin/pauses');
    const pause = pauses.scopes.find((p) => p.scope === 'tenant' && p.value === 'bouncy');
    assert.equal(pause?.actor, TRUST_AND_SAFETY_ACTOR, 'a signal to the control workflow');
    assert.match(pause!.reason, /hard-bounce rate 100%/);

    // The API refuses as soon as this node's copy of the pauses has it (NOTIFY, ms); a send
    // accepted before that would be held like any paused tenant's mail.
    const refusal = await waitFor('new mail refused', async () => {
      const r = await resend.emails.send({
        from: 'news@bouncy.test',
        to: 'x@rcpt.test',
        subject: 's',
        text: 't',
      });
      return r.error ?? undefined;
    });
    assert.equal(refusal.statusCode, 403);
    assert.equal(refusal.name, 'validation_error');
    assert.match(
      refusal.message,
      /^Sending for this account is paused to protect deliverability: hard-bounce rate/,
    );

    await waitFor(
      'the scheduled message held by the pause',
      async () => {
        const r = await stack.db.query(
          `SELECT 1 FROM held_messages WHERE message_id = $1 AND scope = 'tenant'`,
          [scheduled.data!.id],
        );
        return r.rowCount ? true : undefined;
      },
      90_000,
    );
    assert.equal(stack.sinks[MX]!.received.filter((m) => m.rcptTo.includes('later@rcpt.test')).length, 0);

    await stack.node.cli(['resume', 'tenant', 'bouncy', '--reason', 'list cleaned']);
    assert.equal((await settled(stack, scheduled.data!.id))[0]!.state, 'delivered', 'released by the resume');
    const id = await waitFor('mail accepted again', async () =>
      sendText(resend, 'back@rcpt.test', 'news@bouncy.test').catch(() => undefined),
    );
    assert.equal((await settled(stack, id))[0]!.state, 'delivered');
    assert.ok(
      stack.sinks[MX]!.received.some((m) => m.rcptTo.includes('back@rcpt.test')),
      'the receiver has it',
    );
    const events = await adminGet<Events>(stack, '/admin/events?tenant=bouncy&event=paused');
    assert.equal(events.data.length, 1, 'the outcomes that caused the pause do not pause the tenant again');
  });
});

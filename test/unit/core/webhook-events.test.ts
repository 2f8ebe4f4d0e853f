import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EVENT_NAMES } from '../../../core/events.js';
import {
  isWebhookEventType,
  type WebhookSourceEvent,
  type WebhookSourceMessage,
  webhookEventFor,
  webhookPayload,
} from '../../../core/webhooks/events.js';

const message: WebhookSourceMessage = {
  id: '56761188-7520-42d8-8898-ff6fc54ce618',
  from: 'Acme <hello@acme.test>',
  to: ['a@rcpt.test', 'B <b@rcpt.test>'],
  subject: 'Hi',
  createdAt: '2026-11-22T23:41:11.894Z',
  tags: [
    { name: 'category', value: 'confirm_email' },
    { name: 'plan', value: 'pro' },
  ],
  messageId: '<56761188@acme.test>',
};

function event(e: Partial<WebhookSourceEvent>): WebhookSourceEvent {
  return {
    event: 'delivered',
    at: '2026-11-22T23:41:12.126Z',
    recipient: 'a@rcpt.test',
    category: null,
    replyCode: null,
    enhancedStatus: null,
    replyText: null,
    mxHost: null,
    ip: null,
    provider: null,
    detail: null,
    ...e,
  };
}

test('every delivery event kind maps to a Resend event type or deliberately to none', () => {
  const mapped = Object.fromEntries(EVENT_NAMES.map((n) => [n, webhookEventFor(n)?.type ?? null]));
  assert.deepEqual(mapped, {
    scheduled: 'email.scheduled',
    canceled: null,
    paused: null,
    queued: 'email.sent',
    delivered: 'email.delivered',
    deferred: null,
    delivery_delayed: 'email.delivery_delayed',
    bounced: 'email.bounced',
    failed: 'email.failed',
    suppressed: 'email.suppressed',
    complained: 'email.complained',
    ambiguous: null,
  });
  for (const t of Object.values(mapped)) if (t) assert.ok(isWebhookEventType(t));
  assert.equal(webhookEventFor('queued')!.perMessage, true, 'one email.sent per email, not per recipient');
  assert.equal(webhookEventFor('scheduled')!.perMessage, true, 'one email.scheduled per email');
  assert.equal(webhookEventFor('delivered')!.perMessage, false);
});

test("the envelope and common data are Resend's: type, created_at, data.email_id, from, to, subject, tags as a map", () => {
  const p = webhookPayload('email.delivered', event({}), message);
  assert.deepEqual(p, {
    type: 'email.delivered',
    created_at: '2026-11-22T23:41:12.126Z',
    data: {
      email_id: message.id,
      message_id: '<56761188@acme.test>',
      from: 'Acme <hello@acme.test>',
      to: ['a@rcpt.test', 'B <b@rcpt.test>'],
      subject: 'Hi',
      created_at: '2026-11-22T23:41:11.894Z',
      tags: { category: 'confirm_email', plan: 'pro' },
      recipient: 'a@rcpt.test',
    },
  });
  const noRecipient = webhookPayload('email.delivery_delayed', event({ recipient: null }), {
    ...message,
    tags: null,
  });
  assert.equal('recipient' in noRecipient.data, false);
  assert.deepEqual(noRecipient.data.tags, {});
});

test("a bounce carries Resend's bounce object and Posthorn's classification", () => {
  const p = webhookPayload(
    'email.bounced',
    event({
      event: 'bounced',
      category: 'recipient_unknown',
      replyCode: 550,
      enhancedStatus: '5.1.1',
      replyText: '<a@rcpt.test>: user unknown',
      mxHost: 'mx.rcpt.test',
      ip: '192.0.2.10',
      provider: 'google',
      detail: 'rfc3463.5.1.1; action suppress',
    }),
    message,
  );
  assert.deepEqual(p.data.bounce, {
    type: 'Permanent',
    subType: 'NoEmail',
    message: '550 5.1.1 <a@rcpt.test>: user unknown',
    diagnosticCode: ['smtp; 550 5.1.1 <a@rcpt.test>: user unknown'],
    category: 'recipient_unknown',
    permanence: 'permanent',
    ruleId: 'rfc3463.5.1.1',
    action: 'suppress',
    mx: 'mx.rcpt.test',
    ip: '192.0.2.10',
    provider: 'google',
  });
  const full = webhookPayload(
    'email.bounced',
    event({ event: 'bounced', category: 'mailbox_full' }),
    message,
  );
  assert.equal((full.data.bounce as { subType: string }).subType, 'MailboxFull');
  const asyncReport = webhookPayload(
    'email.bounced',
    event({ event: 'bounced', category: 'unknown', detail: 'async dsn; action fail' }),
    message,
  );
  const b = asyncReport.data.bounce as { type: string; ruleId: string | null; diagnosticCode: string[] };
  assert.equal(b.type, 'Undetermined');
  assert.equal(b.ruleId, null, 'an asynchronous report names no classifier rule');
  assert.equal((asyncReport.data.bounce as { action: string | null }).action, 'fail');
  assert.deepEqual(b.diagnosticCode, []);
});

test('failed and suppressed carry their objects', () => {
  const failed = webhookPayload('email.failed', event({ event: 'failed', category: 'expired' }), message);
  assert.deepEqual(failed.data.failed, { reason: 'expired', category: 'expired' });
  const suppressed = webhookPayload('email.suppressed', event({ event: 'suppressed' }), message);
  assert.equal((suppressed.data.suppressed as { type: string }).type, 'OnAccountSuppressionList');
});

test('a payload is the same on every build (the body of every attempt of an event)', () => {
  const e = event({ event: 'bounced', category: 'policy', replyCode: 554, replyText: 'no' });
  assert.equal(
    JSON.stringify(webhookPayload('email.bounced', e, message)),
    JSON.stringify(webhookPayload('email.bounced', e, message)),
  );
});

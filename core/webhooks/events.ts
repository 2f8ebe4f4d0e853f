import type { Category } from '../bounce/taxonomy.js';
import type { EventName } from '../events.js';

/**
 * Resend's email event types (Resend API reference, webhooks: event types). Endpoints may
 * subscribe to any of them; Posthorn emits those `webhookEventFor` maps to. Opens, clicks
 * and inbound mail are not tracked, so their types are accepted and never sent.
 */
export const WEBHOOK_EVENT_TYPES = [
  'email.sent',
  'email.scheduled',
  'email.delivered',
  'email.delivery_delayed',
  'email.complained',
  'email.bounced',
  'email.opened',
  'email.clicked',
  'email.received',
  'email.failed',
  'email.suppressed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(s: string): s is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(s);
}

export interface WebhookMapping {
  readonly type: WebhookEventType;
  /**
   * One webhook event per message rather than per delivery event: the delivery log has a
   * `queued` event per recipient, Resend one `email.sent` per email.
   */
  readonly perMessage: boolean;
}

/**
 * The webhook event a delivery event becomes, or null for the log's internal events. One
 * exhaustive switch: a new delivery event kind (a scheduled send, a tenant pause) fails to
 * compile until it is mapped here.
 */
export function webhookEventFor(event: EventName): WebhookMapping | null {
  switch (event) {
    case 'scheduled':
      // Accepted with a send time: delivery will be attempted then.
      return { type: 'email.scheduled', perMessage: true };
    case 'queued':
      // The API accepted the message and delivery will be attempted.
      return { type: 'email.sent', perMessage: true };
    case 'delivered':
      // The remote MX answered 250 after the final dot.
      return { type: 'email.delivered', perMessage: false };
    case 'delivery_delayed':
      // Once per message (a unique index in the delivery log).
      return { type: 'email.delivery_delayed', perMessage: false };
    case 'bounced':
      return { type: 'email.bounced', perMessage: false };
    case 'complained':
      return { type: 'email.complained', perMessage: false };
    case 'failed':
      return { type: 'email.failed', perMessage: false };
    case 'suppressed':
      return { type: 'email.suppressed', perMessage: false };
    case 'deferred':
    case 'ambiguous':
      // One failed attempt, a possible duplicate: the log's detail, not Resend events.
      return null;
    case 'canceled':
      // Resend's webhooks have no event for a canceled send (its SDK's WebhookEvent union);
      // the email's last_event says it.
      return null;
    case 'paused':
      // A tenant's event with no email to describe; Resend's webhooks carry emails only.
      return null;
  }
}

/** The delivery event row a webhook payload is built from (delivery_events). */
export interface WebhookSourceEvent {
  readonly event: EventName;
  /** When it was recorded, ISO 8601. */
  readonly at: string;
  readonly recipient: string | null;
  readonly category: Category | null;
  readonly replyCode: number | null;
  readonly enhancedStatus: string | null;
  readonly replyText: string | null;
  readonly mxHost: string | null;
  readonly ip: string | null;
  readonly provider: string | null;
  readonly detail: string | null;
}

/** The message the event is about (messages). */
export interface WebhookSourceMessage {
  readonly id: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  /** Accepted at, ISO 8601. */
  readonly createdAt: string;
  readonly tags: readonly { name: string; value: string }[] | null;
  /** The Message-ID header, angle brackets included. */
  readonly messageId: string;
}

export interface WebhookPayload {
  readonly type: WebhookEventType;
  readonly created_at: string;
  readonly data: Record<string, unknown>;
}

/** Resend's bounce object (Amazon SES's types) plus Posthorn's classification. */
export interface BounceData {
  readonly type: 'Permanent' | 'Transient' | 'Undetermined';
  readonly subType: string;
  readonly message: string;
  readonly diagnosticCode: readonly string[];
  readonly category: Category | null;
  readonly permanence: 'permanent' | 'transient' | 'none';
  readonly ruleId: string | null;
  /** What the classification says to do (suppress, fail, …; docs/architecture.md, the taxonomy). */
  readonly action: string | null;
  readonly mx: string | null;
  readonly ip: string | null;
  readonly provider: string | null;
}

/** Resend's bounce subtypes for Posthorn's categories (Resend docs, email bounces). */
function bounceSubType(category: Category | null): string {
  switch (category) {
    case 'recipient_unknown':
    case 'mailbox_disabled':
    case 'domain_unknown':
    case 'has_moved':
      return 'NoEmail';
    case 'mailbox_full':
      return 'MailboxFull';
    case 'message_too_large':
      return 'MessageTooLarge';
    case 'content_rejected':
    case 'spam_content':
    case 'virus_detected':
      return 'ContentRejected';
    case null:
    case 'unknown':
      return 'Undetermined';
    default:
      return 'General';
  }
}

function smtpReplyOf(e: WebhookSourceEvent): string | null {
  if (e.replyCode === null) return null;
  return [String(e.replyCode), e.enhancedStatus, e.replyText].filter(Boolean).join(' ');
}

/**
 * The classifier's rule and action behind a synchronous bounce: the delivery path records
 * them as the event's detail, "<ruleId>; action <action>" (core/delivery/attempt-record.ts);
 * an asynchronous report's detail says "async <kind>" instead and names neither.
 */
const DETAIL = /^(.*?)(?:; action ([a-z_]+))?$/;
const RULE_ID = /^[a-z0-9][\w.-]*$/i;

function classifierOf(e: WebhookSourceEvent): { ruleId: string | null; action: string | null } {
  const m = e.detail ? DETAIL.exec(e.detail) : null;
  const head = m?.[1] ?? '';
  return { ruleId: RULE_ID.test(head) ? head : null, action: m?.[2] ?? null };
}

export function bounceData(e: WebhookSourceEvent): BounceData {
  const reply = smtpReplyOf(e);
  const undetermined = e.category === null || e.category === 'unknown';
  return {
    type: undetermined ? 'Undetermined' : 'Permanent',
    subType: bounceSubType(e.category),
    message: reply ?? e.detail ?? 'The message bounced.',
    diagnosticCode: reply ? [`smtp; ${reply}`] : [],
    category: e.category,
    // A bounce is the permanent verdict (a transient failure is a deferral, retried).
    permanence: 'permanent',
    ...classifierOf(e),
    mx: e.mxHost,
    ip: e.ip,
    provider: e.provider,
  };
}

/** Resend sends tags as an object map in webhook payloads, not the [{name, value}] of a send. */
function tagMap(tags: WebhookSourceMessage['tags']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) out[t.name] = t.value;
  return out;
}

/**
 * The payload an endpoint receives, in Resend's shape: `{type, created_at, data}` with
 * `data.email_id, from, to, subject, created_at, tags` and the type's own object. Posthorn
 * adds `recipient` (its events are per recipient). Pure: an event's payload is the same on
 * every attempt.
 */
export function webhookPayload(
  type: WebhookEventType,
  e: WebhookSourceEvent,
  m: WebhookSourceMessage,
): WebhookPayload {
  const data: Record<string, unknown> = {
    email_id: m.id,
    message_id: m.messageId,
    from: m.from,
    to: [...m.to],
    subject: m.subject,
    created_at: m.createdAt,
    tags: tagMap(m.tags),
  };
  if (e.recipient !== null) data.recipient = e.recipient;
  switch (type) {
    case 'email.bounced':
      data.bounce = bounceData(e);
      break;
    case 'email.failed':
      data.failed = { reason: e.category ?? e.detail ?? 'failed', category: e.category };
      break;
    case 'email.suppressed':
      data.suppressed = {
        type: 'OnAccountSuppressionList',
        message: 'The recipient is on the suppression list, so the message was not sent to it.',
      };
      break;
    case 'email.delivery_delayed':
    case 'email.delivered':
    case 'email.sent':
    case 'email.scheduled':
    case 'email.complained':
    case 'email.opened':
    case 'email.clicked':
    case 'email.received':
      break;
  }
  return { type, created_at: e.at, data };
}

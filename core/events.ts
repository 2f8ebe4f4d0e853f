import type { Category } from './bounce/taxonomy.js';
import type { SmtpPhase } from './delivery/smtp-reply.js';

/**
 * Delivery log event names. `deferred` is one failed attempt; `delivery_delayed` is the
 * once-per-message notice that delivery is taking longer (Resend's event of that name).
 */
export const EVENT_NAMES = [
  // Accepted with a scheduled_at: waiting for its time (Resend's `scheduled`).
  'scheduled',
  // A scheduled send canceled before its time: final, nothing is sent.
  'canceled',
  'queued',
  'delivered',
  'deferred',
  'delivery_delayed',
  'bounced',
  'failed',
  'suppressed',
  'complained',
  // The connection broke after the final dot: the remote may have the message (RFC 5321
  // §6.1); the recipient is retried, and this event marks a possible duplicate.
  'ambiguous',
  // Trust and safety paused the tenant or one of its sending domains (core/limits/safety.ts):
  // an event of the tenant, without message id, recipient or stream.
  'paused',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** Latest state of one recipient of one message. */
export type RecipientState =
  | 'queued'
  | 'deferred'
  | 'delivered'
  | 'bounced'
  | 'failed'
  | 'suppressed'
  | 'canceled';

export interface DeliveryEvent {
  readonly messageId: string;
  readonly tenantId: string;
  readonly event: EventName;
  readonly recipient: string | null;
  readonly sendingDomain: string;
  readonly recipientDomain: string | null;
  readonly messageType: string;
  readonly provider: string | null;
  readonly pool: string | null;
  readonly ip: string | null;
  readonly mxHost: string | null;
  readonly mxAddress: string | null;
  readonly attempt: number | null;
  readonly replyCode: number | null;
  readonly enhancedStatus: string | null;
  readonly replyText: string | null;
  readonly phase: SmtpPhase | null;
  readonly category: Category | null;
  readonly tls: string | null;
  readonly durationMs: number | null;
  readonly detail: string | null;
}

/** A recipient to add to its tenant's suppression list. */
export interface SuppressionEntry {
  readonly tenantId: string;
  readonly email: string;
  readonly origin: 'bounce' | 'complaint' | 'manual';
  /** Category or free text saying why. */
  readonly reason: string;
  readonly sourceMessageId: string | null;
}

export interface RecipientUpdate {
  readonly messageId: string;
  readonly address: string;
  readonly state: RecipientState;
  readonly lastReply: string | null;
  /** Whether this update is one more delivery attempt for the recipient. */
  readonly attempted: boolean;
}

/**
 * The detail of a recipient's `suppressed` event at accept: the send itself succeeds and
 * the recipient is never tried (Resend's semantics).
 */
export const SUPPRESSED_DETAIL = 'on the suppression list';

/** Whether (message id, recipient) is among `suppressed` (what the accept insert found). */
export function isSuppressedIn(
  suppressed: readonly { messageId: string; recipient: string }[],
): (messageId: string, recipient: string | null) => boolean {
  const gone = new Set(suppressed.map((s) => `${s.messageId} ${s.recipient}`));
  return (messageId, recipient) => gone.has(`${messageId} ${recipient}`);
}

/**
 * `events` as stored once `suppressed` recipients were found on their suppression list:
 * their events became `suppressed` (adapters/postgres/messages.ts, insert).
 */
export function withSuppressed(
  events: readonly DeliveryEvent[],
  suppressed: readonly { messageId: string; recipient: string }[],
): DeliveryEvent[] {
  const gone = isSuppressedIn(suppressed);
  return events.map((e) =>
    gone(e.messageId, e.recipient) ? { ...e, event: 'suppressed', detail: SUPPRESSED_DETAIL } : e,
  );
}

/** An event with every dimension it does not name left empty; callers spread what they know. */
export function blankEvent(
  e: Pick<DeliveryEvent, 'messageId' | 'tenantId' | 'event' | 'sendingDomain' | 'messageType'>,
): DeliveryEvent {
  return {
    ...e,
    recipient: null,
    recipientDomain: null,
    provider: null,
    pool: null,
    ip: null,
    mxHost: null,
    mxAddress: null,
    attempt: null,
    replyCode: null,
    enhancedStatus: null,
    replyText: null,
    phase: null,
    category: null,
    tls: null,
    durationMs: null,
    detail: null,
  };
}

import type { Category } from './bounce/taxonomy.js';
import type { SmtpPhase } from './smtp-reply.js';

/**
 * Delivery log event names. `deferred` is one failed attempt; `delivery_delayed` is the
 * once-per-message notice that delivery is taking longer (Resend's event of that name).
 */
export const EVENT_NAMES = [
  'queued',
  'delivered',
  'deferred',
  'delivery_delayed',
  'bounced',
  'failed',
  'suppressed',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** Latest state of one recipient of one message. */
export type RecipientState = 'queued' | 'deferred' | 'delivered' | 'bounced' | 'failed' | 'suppressed';

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

export interface RecipientUpdate {
  readonly messageId: string;
  readonly address: string;
  readonly state: RecipientState;
  readonly lastReply: string | null;
  /** Whether this update is one more delivery attempt for the recipient. */
  readonly attempted: boolean;
}

/** Resend's `last_event` values that our events map to (the others never come from us yet). */
export function lastEventName(event: EventName): string | null {
  switch (event) {
    case 'queued':
    case 'delivered':
    case 'delivery_delayed':
    case 'bounced':
    case 'failed':
    case 'suppressed':
      return event;
    case 'deferred':
      return null;
  }
}

/**
 * The bounce taxonomy (docs/architecture.md, "Bounces and the taxonomy"). A category says
 * what happened; an action says what to do about it now. They are kept apart on purpose:
 * the same category (say rate_limited) can call for different actions with different
 * providers.
 */
export const CATEGORIES = [
  'recipient_unknown',
  'mailbox_disabled',
  'mailbox_full',
  'domain_unknown',
  'has_moved',
  'message_too_large',
  'content_rejected',
  'spam_content',
  'virus_detected',
  'policy',
  'sender_rejected',
  'auth_failure',
  'ptr_required',
  'ip_blocked',
  'rate_limited',
  'greylisted',
  'relay_denied',
  'tls_failure',
  'protocol_error',
  'network_error',
  'dns_failure',
  'remote_error',
  'expired',
  'on_hold',
  'auto_reply',
  'complaint',
  'delivered',
  'unknown',
] as const;
export type Category = (typeof CATEGORIES)[number];

export type Permanence = 'permanent' | 'transient' | 'none';
export type Scope = 'recipient' | 'message' | 'sender' | 'ip' | 'destination' | 'infrastructure' | 'none';

/**
 * What the sender should do now.
 * - retry: try again later per the retry schedule.
 * - retry_same_ip: try again soon from the same IP (greylisting, RFC 6647 §2.1).
 * - fail: give up on this recipient for this message.
 * - suppress: give up and add the recipient to the tenant's suppression list.
 * - throttle_ip: retry later and slow this IP down for the destination provider.
 * - suspend_ip: retry later from another IP; stop using this IP for the provider for a while.
 * - none: nothing to do (delivered, auto-reply).
 */
export const ACTIONS = [
  'retry',
  'retry_same_ip',
  'fail',
  'suppress',
  'throttle_ip',
  'suspend_ip',
  'none',
] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * How sure the classifier is of the category (docs/architecture.md, "Bounces and the
 * taxonomy"): `high` for a provider's own documented wording or a report's first-hand
 * verdict, `medium` for a generic phrase or a specific enhanced status, `low` for a bare
 * status subject, the reply class alone, or a verdict a relay passed on that nothing
 * corroborates (an unconfirmed "user unknown"). Consumers act on `action`, never on
 * confidence; it is there for reports, search and tuning.
 */
export const CONFIDENCES = ['high', 'medium', 'low'] as const;
export type Confidence = (typeof CONFIDENCES)[number];

export interface Classification {
  readonly category: Category;
  readonly permanence: Permanence;
  readonly scope: Scope;
  readonly action: Action;
  readonly confidence: Confidence;
  /** Id of the rule that matched, e.g. "google.rate-limit" or "rfc3463.5.1.1". */
  readonly ruleId: string;
}

/** Input to the reply classifier: one SMTP reply and what is known around it. */
export interface ReplyInput {
  readonly code: number;
  readonly enhanced: string | null;
  readonly text: string;
  /** The command the reply answered, when known. */
  readonly phase?: import('../delivery/smtp-reply.js').SmtpPhase;
  /** Mailbox provider id when known (see provider detection), e.g. "google", "yahoo". */
  readonly provider?: string | null;
}

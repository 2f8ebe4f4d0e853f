import type { ReplyRule } from '../rule.js';
import type { Action, Category } from '../taxonomy.js';

/**
 * The enhanced-status table: every subject.detail of RFC 3463 §3, with the additions
 * registered at IANA ("SMTP Enhanced Status Codes" registry, RFC 5248): RFC 4468 (x.6.6),
 * RFC 4954 (x.7.8, x.7.9, x.7.11, x.7.12, x.5.6), RFC 5248 (x.7.10), RFC 6531/6533 (x.6.7-x.6.10),
 * RFC 6710 (x.7.15, x.7.16), RFC 7293 (x.7.17-x.7.19), RFC 7372 (x.7.20-x.7.26),
 * RFC 7505 (x.1.10, x.7.27), RFC 8617 (x.7.29), RFC 8689 (x.7.30) and x.7.28 (mail flood).
 * Used only when no text rule matched: the code is coarse and servers misuse it.
 */
const TABLE: ReadonlyArray<readonly [string, Category, string, Action?]> = [
  ['0.0', 'unknown', 'other undefined status'],
  ['1.0', 'unknown', 'other address status'],
  ['1.1', 'recipient_unknown', 'bad destination mailbox address'],
  ['1.2', 'domain_unknown', 'bad destination system address'],
  ['1.3', 'recipient_unknown', 'bad destination mailbox address syntax'],
  ['1.4', 'recipient_unknown', 'destination mailbox address ambiguous'],
  ['1.5', 'delivered', 'destination address valid'],
  ['1.6', 'has_moved', 'destination mailbox has moved, no forwarding address'],
  ['1.7', 'sender_rejected', "bad sender's mailbox address syntax"],
  ['1.8', 'sender_rejected', "bad sender's system address"],
  ['1.9', 'delivered', 'message relayed to non-compliant mailer (RFC 3886)'],
  ['1.10', 'domain_unknown', 'recipient address has null MX (RFC 7505)'],
  ['2.0', 'unknown', 'other or undefined mailbox status'],
  ['2.1', 'mailbox_disabled', 'mailbox disabled, not accepting messages'],
  ['2.2', 'mailbox_full', 'mailbox full'],
  ['2.3', 'message_too_large', 'message length exceeds administrative limit'],
  ['2.4', 'remote_error', 'mailing list expansion problem'],
  ['3.0', 'remote_error', 'other or undefined mail system status'],
  ['3.1', 'remote_error', 'mail system full'],
  ['3.2', 'remote_error', 'system not accepting network messages'],
  ['3.3', 'remote_error', 'system not capable of selected features'],
  ['3.4', 'message_too_large', 'message too big for system'],
  ['3.5', 'remote_error', 'system incorrectly configured'],
  ['4.0', 'network_error', 'other or undefined network or routing status'],
  ['4.1', 'network_error', 'no answer from host'],
  ['4.2', 'network_error', 'bad connection'],
  ['4.3', 'dns_failure', 'directory server failure'],
  ['4.4', 'domain_unknown', 'unable to route'],
  ['4.5', 'rate_limited', 'mail system congestion'],
  ['4.6', 'network_error', 'routing loop detected'],
  ['4.7', 'expired', 'delivery time expired'],
  ['5.0', 'protocol_error', 'other or undefined protocol status'],
  ['5.1', 'protocol_error', 'invalid command'],
  ['5.2', 'protocol_error', 'syntax error'],
  // RFC 5321 §4.5.3.1.10: retry the remaining recipients in a new transaction.
  ['5.3', 'rate_limited', 'too many recipients', 'retry'],
  ['5.4', 'protocol_error', 'invalid command arguments'],
  ['5.5', 'protocol_error', 'wrong protocol version'],
  ['5.6', 'protocol_error', 'authentication exchange line is too long'],
  ['6.0', 'content_rejected', 'other or undefined media error'],
  ['6.1', 'content_rejected', 'media not supported'],
  ['6.2', 'content_rejected', 'conversion required and prohibited'],
  ['6.3', 'content_rejected', 'conversion required but not supported'],
  ['6.4', 'content_rejected', 'conversion with loss performed'],
  ['6.5', 'content_rejected', 'conversion failed'],
  ['6.6', 'content_rejected', 'message content not available'],
  ['6.7', 'content_rejected', 'non-ASCII addresses not permitted for that sender/recipient'],
  ['6.8', 'content_rejected', 'UTF-8 string reply is required, but not permitted by the SMTP client'],
  ['6.9', 'content_rejected', 'UTF-8 header message cannot be transferred to one or more recipients'],
  ['6.10', 'content_rejected', 'UTF-8 address downgrade problem'],
  ['7.0', 'policy', 'other or undefined security status'],
  ['7.1', 'policy', 'delivery not authorized, message refused'],
  ['7.2', 'policy', 'mailing list expansion prohibited'],
  ['7.3', 'policy', 'security conversion required but not possible'],
  ['7.4', 'policy', 'security features not supported'],
  ['7.5', 'content_rejected', 'cryptographic failure'],
  ['7.6', 'content_rejected', 'cryptographic algorithm not supported'],
  ['7.7', 'content_rejected', 'message integrity failure'],
  ['7.8', 'auth_failure', 'authentication credentials invalid'],
  ['7.9', 'auth_failure', 'authentication mechanism is too weak'],
  ['7.10', 'tls_failure', 'encryption needed'],
  ['7.11', 'tls_failure', 'encryption required for requested authentication mechanism'],
  ['7.12', 'auth_failure', 'a password transition is needed'],
  ['7.13', 'mailbox_disabled', 'user account disabled'],
  ['7.14', 'policy', 'trust relationship required'],
  ['7.15', 'policy', 'priority level is too low'],
  ['7.16', 'message_too_large', 'message is too big for the specified priority'],
  ['7.17', 'has_moved', 'mailbox owner has changed'],
  ['7.18', 'has_moved', 'domain owner has changed'],
  ['7.19', 'unknown', 'RRVS test cannot be completed'],
  ['7.20', 'auth_failure', 'no passing DKIM signature found'],
  ['7.21', 'auth_failure', 'no acceptable DKIM signature found'],
  ['7.22', 'auth_failure', 'no valid author-matched DKIM signature found'],
  ['7.23', 'auth_failure', 'SPF validation failed'],
  ['7.24', 'auth_failure', 'SPF validation error'],
  ['7.25', 'ptr_required', 'reverse DNS validation failed'],
  ['7.26', 'auth_failure', 'multiple authentication checks failed'],
  ['7.27', 'sender_rejected', 'sender address has null MX'],
  ['7.28', 'rate_limited', 'mail flood detected'],
  ['7.29', 'auth_failure', 'ARC validation failure'],
  ['7.30', 'tls_failure', 'REQUIRETLS support required'],
];

/** Real replies that reached these rows (no earlier text rule matched them). */
const EXAMPLES: Readonly<Record<string, readonly string[]>> = {};

/** Per subject (RFC 3463 §3): for details no registry entry names, e.g. Exchange's 5.7.513. */
const SUBJECTS: ReadonlyArray<readonly [string, Category]> = [
  ['0', 'unknown'],
  ['1', 'unknown'],
  ['2', 'unknown'],
  ['3', 'remote_error'],
  ['4', 'network_error'],
  ['5', 'protocol_error'],
  ['6', 'content_rejected'],
  ['7', 'policy'],
];

function subjects(cls: '4' | '5'): ReplyRule[] {
  return SUBJECTS.map(([s, category]) => ({
    id: `rfc3463.${cls}.${s}.x`,
    match: { status: [`${cls}.${s}`] },
    category,
    examples: EXAMPLES[`${cls}.${s}.x`] ?? [],
    sources: ['RFC 3463 §3'],
  }));
}

function rows(cls: '4' | '5'): ReplyRule[] {
  return TABLE.map(([sd, category, _meaning, action]) => {
    const status = `${cls}.${sd}`;
    const rule: ReplyRule = {
      id: `rfc3463.${status}`,
      match: { status: [status] },
      category,
      examples: EXAMPLES[status] ?? [],
      sources: ['RFC 3463 §3', 'IANA SMTP Enhanced Status Codes registry (RFC 5248)'],
      ...(action ? { action } : {}),
    };
    return rule;
  });
}

export const ENHANCED_STATUS_RULES: readonly ReplyRule[] = [
  ...rows('5'),
  ...rows('4'),
  ...subjects('5'),
  ...subjects('4'),
  {
    // Class 2 (RFC 3463 §3.1): success, whatever the subject.
    id: 'rfc3463.2',
    match: { status: ['2'] },
    category: 'delivered',
    examples: ['250 2.1.5 Ok'],
    sources: ['RFC 3463 §3.1'],
  },
];

/**
 * Sisimai reason names (https://libsisimai.org/en/reason/) → the Posthorn categories
 * (docs/architecture.md, "Bounces and the taxonomy") that mean the same thing. A reason may
 * map to several categories where Sisimai lumps together what Posthorn keeps apart, or
 * where its label depends on the SMTP command rather than on what the server said (e.g.
 * "filtered": refused after DATA, which may be content, policy or the recipient).
 */
import type { Category } from '../../core/bounce/taxonomy.js';

export type EvalCategory = Category | 'not_bounce';

export const SISIMAI_REASONS: Readonly<Record<string, readonly EvalCategory[]>> = {
  userunknown: ['recipient_unknown'],
  mailboxfull: ['mailbox_full'],
  expired: ['expired'],
  // Refused after DATA by a content or header filter, or a mailbox that refuses this mail.
  // Sisimai also gives "filtered" to a plain "User unknown" whose SMTP command it cannot see
  // and whose status is not 5.1.1 (Sisimai::Reason::UserUnknown->true wants RCPT or 5.1.1;
  // Filtered->true takes the rest): the same "550 5.2.1 <a@b>... User Unknown" is labelled
  // userunknown where the report names RCPT TO and filtered where it does not. Posthorn, too,
  // does not suppress on such an unconfirmed "user unknown": it keeps the words
  // (recipient_unknown; X.2.1: mailbox_disabled) at low confidence with action fail, and the
  // evaluation counts recipient_unknown as agreeing with "filtered" only when the action is not
  // suppress (eval-bounces.ts), see core/bounce/report/classify-recipient.ts.
  filtered: ['content_rejected', 'policy', 'spam_content', 'mailbox_disabled'],
  // The envelope sender was refused.
  rejected: ['sender_rejected', 'policy'],
  // The sending IP/host was refused (DNSBL, reputation, unknown client).
  blocked: ['ip_blocked', 'ptr_required'],
  badreputation: ['ip_blocked'],
  feedback: ['complaint'],
  hostunknown: ['domain_unknown'],
  // "The destination does not accept mail": null MX (RFC 7505), 521/556.
  notaccept: ['domain_unknown'],
  // Sisimai's NetworkError covers every failed DNS lookup ("DNS Error: ... NXDOMAIN" from Gmail
  // included); Posthorn splits a definitive answer (NXDOMAIN, no MX/A: domain_unknown) from a
  // failed lookup (SERVFAIL, timeout: dns_failure).
  networkerror: ['network_error', 'dns_failure', 'domain_unknown'],
  authfailure: ['auth_failure'],
  suspend: ['mailbox_disabled'],
  // Sisimai's PolicyViolation also covers a site's refusal of a message's content or headers
  // (Sisimai::Reason::PolicyViolation lists "header error", "an illegal attachment on your
  // message", "this message was blocked because its content presents a potential", "we do not
  // accept messages containing images or other attachments"): Posthorn's content_rejected.
  policyviolation: ['policy', 'content_rejected'],
  requireptr: ['ptr_required'],
  systemerror: ['remote_error'],
  systemfull: ['remote_error'],
  mailererror: ['remote_error'],
  spamdetected: ['spam_content'],
  securityerror: ['auth_failure', 'tls_failure', 'policy'],
  failedstarttls: ['tls_failure'],
  norelaying: ['relay_denied'],
  notcompliantrfc: ['content_rejected', 'protocol_error'],
  syntaxerror: ['protocol_error'],
  contenterror: ['content_rejected'],
  virusdetected: ['virus_detected'],
  mesgtoobig: ['message_too_large'],
  exceedlimit: ['message_too_large'],
  toomanyconn: ['rate_limited'],
  speeding: ['rate_limited'],
  hasmoved: ['has_moved'],
  // Not "held by the remote": Sisimai::Reason::OnHold is "Sisimai could not decide the reason
  // due to there is no (or less) detailed information for judging the reason", set only when
  // nothing else matched. That is Posthorn's catch-all.
  // Japanese Domino/Notes "not in the Domino Directory" texts are labelled onhold because
  // Sisimai 4.25 does not decode their ISO-2022-JP, though its Lhost::Domino and Lhost::Notes
  // list them as userunknown: Posthorn reads them as recipient_unknown (counted as misses).
  onhold: ['unknown'],
  vacation: ['auto_reply'],
  delivered: ['delivered'],
  undefined: ['unknown'],
  '(not-a-bounce)': ['not_bounce'],
};

/** Categories that say the address itself is bad (Sisimai's "hard bounce"). */
export const HARD_CATEGORIES: ReadonlySet<EvalCategory> = new Set<EvalCategory>([
  'recipient_unknown',
  'domain_unknown',
  'has_moved',
]);

export function categoriesFor(reason: string): readonly EvalCategory[] {
  return SISIMAI_REASONS[reason] ?? [];
}

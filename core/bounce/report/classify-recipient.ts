/**
 * Report-level classification of one recipient. The SMTP reply classifier
 * (../classify.ts) does the real work on the diagnostic; this layer only adds what a
 * report knows and a single reply does not:
 * - the DSN Status field when the diagnostic says nothing useful (RFC 3464 §2.3.4);
 * - that the reporting MTA gave up after its queue lifetime ("retry timeout exceeded",
 *   "delivery time expired"): category expired unless the last reply said something
 *   more specific about the recipient or the message;
 * - the SMTP command the reply answered, when nothing else tells: an unexplained
 *   refusal of MAIL FROM is about the sender, of the connection about the IP;
 * - delivered/relayed/expanded actions (RFC 3464 §2.3.3) are deliveries.
 */

import { CATEGORY_SCOPE, classifyReply, defaultAction, transientCategory } from '../classify.js';
import { CORPUS_SOURCE } from '../rule.js';
import type { Category, Classification, Confidence, Permanence, ReplyInput } from '../taxonomy.js';
import { findReply } from './text.js';
import type { FoundRecipient } from './types.js';

// What MTAs print when they give up because the message stayed queued too long.
const EXPIRED =
  /retry timeout exceeded|delivery time expired|(?:message|mail) (?:has been|was) (?:in the )?queue(?:d)? (?:for )?too long|in the queue too long|has not been delivered for|could not be delivered for \d+|cannot send message for \d+|all hosts have been failing for a long time|(?:maximum|max) (?:queue )?(?:time|lifetime|age)|message expired|expired after|retry time(?:out)? (?:not reached|exceeded)|giving up after \d+|delivery (?:has )?(?:failed|expired) after \d+|Delivery expired|could not deliver the message in the time limit|time limit specified by the sender|no delivery attempts were successful within|Unable to deliver .* for the last \d+|was not delivered within|have been unable to deliver .* since|undeliverable for too long|message timed out|could not deliver for the last \d+|aborted after [\d.]+ ?hours?|unable to deliver message after multiple retries/i;

const CAUSES: readonly Category[] = [
  'mailbox_full',
  'mailbox_disabled',
  'recipient_unknown',
  'domain_unknown',
  'ip_blocked',
  'ptr_required',
  'policy',
  'sender_rejected',
  'auth_failure',
  'relay_denied',
  'spam_content',
  'content_rejected',
  'message_too_large',
  'tls_failure',
  'protocol_error',
  'network_error',
  'dns_failure',
  'rate_limited',
];

// Categories a queue-lifetime expiry replaces: the last attempt's transport trouble. A
// failing DNS lookup is not among them: it names a fault of the recipient domain's name
// service that outlasted the queue lifetime ("host name lookup failure", "Message expired,
// DNS query failed"), which a timed-out or refused connection does not.
const EXPIRY_REPLACES: ReadonlySet<Category> = new Set<Category>([
  'unknown',
  'network_error',
  'remote_error',
  'greylisted',
]);

// Vague refusals that, given in the SMTP greeting, can only be about the client (see below).
const CONNECT_REFUSALS: ReadonlySet<Category> = new Set<Category>(['policy', 'remote_error']);

// Categories that say the address itself is bad; see the post-DATA check below.
const ADDRESS_CATEGORIES: ReadonlySet<Category> = new Set<Category>([
  'recipient_unknown',
  'mailbox_disabled',
]);

// The reporting MTA's own summary that the address does not exist: Gmail's "Address not
// found" notice is written only for a refusal of the recipient, whose command Gmail saw.
const ADDRESS_NOT_FOUND_SUMMARY = /because the address couldn't be found|\*\* Address not found \*\*/i;

// Categories a local delivery program's failure replaces (see isLocalMailer).
const LOCAL_MAILER_REPLACES: ReadonlySet<Category> = new Set<Category>([
  'unknown',
  'recipient_unknown',
  'remote_error',
  'protocol_error',
]);

/**
 * The failure came from a local delivery program: RFC 3464 §2.3.6 diagnostic-type "X-Unix"
 * (Postfix local/pipe, Sendmail's prog mailer) or a recipient that is a program ("|/path").
 */
function isLocalMailer(r: FoundRecipient): boolean {
  return r.toProgram === true || r.diagnosticType === 'x-unix' || r.diagnosticType === 'x-local';
}

// Categories that, named next to an expiry, say why the MTA gave up (see causeOfExpiry).
const EXPIRY_CAUSES: ReadonlySet<Category> = new Set<Category>(CAUSES);

/**
 * The cause an expiry notice names besides the expiry itself, or null: the diagnostic with
 * the expiry wording taken out, classified by the text rules alone (not the status, which
 * says only "expired").
 */
function causeOfExpiry(
  text: string,
  code: number | null,
  phase: FoundRecipient['phase'],
  classify: typeof classifyReply,
): Classification | null {
  const rest = text.replace(new RegExp(EXPIRED.source, 'gi'), ' ').replace(/\s+/g, ' ');
  if (rest.trim() === '') return null;
  const c = classify({ code: code ?? 0, enhanced: null, text: rest, phase });
  if (/^(?:rfc3463|catch-all)\./.test(c.ruleId)) {
    // Nothing in the words, but the command refused says who: the sender (MAIL FROM) or
    // the connecting client (greeting, HELO: qmail's "my name was rejected").
    if (code === null || code < 500) return null;
    if (phase === 'mail') return make('sender_rejected', 'permanent', 'report.expired-phase-mail');
    if (phase === 'connect' || phase === 'ehlo')
      return make('ip_blocked', 'permanent', 'report.expired-phase-connect');
    return null;
  }
  return EXPIRY_CAUSES.has(c.category) ? c : null;
}

/**
 * Sources of the report rules above, as ReplyRule.sources has them (rule.ts): the RFCs they
 * read, and the development-corpus families they were tuned on where the wording or the
 * ordering came from those messages. Every family a report rule fired on while it was being
 * tuned is listed, so the evaluation counts none of those messages as held out.
 */
export const REPORT_RULE_SOURCES: Readonly<Record<string, readonly string[]>> = {
  'report.action-delivered': ['RFC 3464 §2.3.3'],
  'report.no-diagnostic': ['RFC 3464 §2.3.4'],
  'report.expired': [
    'RFC 3463 X.4.7',
    ...corpus(
      'lhost-amazonworkmail lhost-dragonfly lhost-opensmtpd lhost-outlook lhost-sendmail lhost-x2 lhost-x3 rfc3464 rhost-outlook',
    ),
  ],
  'report.expired-after-retries': [
    'RFC 5321 §4.5.4.1',
    ...corpus(
      'lhost-gmail lhost-postfix lhost-sendgrid lhost-v5sendmail lhost-x1 lhost-yandex lhost-zoho rfc3464 rhost-gsuite',
    ),
  ],
  'report.expired-phase-mail': ['RFC 5321 §3.3', ...corpus('lhost-qmail')],
  'report.expired-phase-connect': ['RFC 5321 §3.1', ...corpus('lhost-qmail')],
  'report.local-mailer': ['RFC 3464 §2.3.6 (X-Unix)', ...corpus('lhost-exim lhost-postfix lhost-sendmail')],
  'report.phase-mail': ['RFC 5321 §3.3', ...corpus('lhost-exim')],
  'report.phase-connect': ['RFC 5321 §3.1', ...corpus('lhost-exim')],
  'report.connect-refused': ['RFC 5321 §3.1, §4.3.2', ...corpus('lhost-exim lhost-postfix')],
  'report.post-data-refusal': [
    'Sisimai::Rhost::KDDI, Sisimai::Rhost::NTTDOCOMO',
    ...corpus('lhost-postfix lhost-sendmail rhost-nttdocomo rhost-kddi lhost-ezweb'),
  ],
  'report.unconfirmed-user-unknown': [
    'Sisimai::Reason::UserUnknown (true: RCPT or X.1.x)',
    ...corpus(
      'lhost-amazonses lhost-apachejames lhost-exchange2003 lhost-mcafee lhost-messagingserver lhost-mxlogic lhost-surfcontrol lhost-x1 lhost-x2 lhost-zoho rfc3464 rhost-messagelabs lhost-sendmail',
    ),
  ],
  'report.unconfirmed-mailbox-disabled': [
    'RFC 3463 X.2.1',
    ...corpus('lhost-amazonworkmail lhost-messagingserver lhost-powermta lhost-zoho'),
  ],
  'report.arf': ['RFC 5965'],
  'report.apple-unsubscribe': ['RFC 8058', 'https://support.apple.com/en-us/102322'],
  'report.rfc3834': ['RFC 3834'],
};

function corpus(families: string): string[] {
  return families.split(' ').map((f) => `${CORPUS_SOURCE}${f}`);
}

export function looksExpired(text: string): boolean {
  return EXPIRED.test(text.replace(/\s+/g, ' '));
}

function make(
  category: Category,
  permanence: Permanence,
  ruleId: string,
  confidence: Confidence = 'medium',
): Classification {
  return {
    category,
    permanence,
    scope: CATEGORY_SCOPE[category],
    action: defaultAction(category, permanence, confidence),
    confidence,
    ruleId,
  };
}

function permanenceOf(r: FoundRecipient, code: number | null, status: string | null): Permanence {
  if (code !== null && code >= 500) return 'permanent';
  if (code !== null && code >= 400) return 'transient';
  if (status?.startsWith('5.')) return 'permanent';
  if (status?.startsWith('4.')) return 'transient';
  return r.action === 'delayed' ? 'transient' : 'permanent';
}

/**
 * Classifies one recipient of a report. `context` is extra report text (e.g. the
 * reporting MTA's own explanation) used only for the expiry check.
 */
export function classifyRecipient(r: FoundRecipient, context = ''): Classification {
  return classifyRecipientTraced(r, context).classification;
}

/**
 * The same, with the ids of every rule consulted on the way (reply rules and report rules),
 * the classification's own last: the evaluation reads them against each rule's `sources`.
 */
export function classifyRecipientTraced(
  r: FoundRecipient,
  context = '',
): { classification: Classification; trail: readonly string[] } {
  const trail: string[] = [];
  const classify: typeof classifyReply = (input) => {
    const c = classifyReply(input);
    trail.push(c.ruleId);
    return c;
  };
  const c = decide(r, context, classify);
  // A 4xx or 4.x.x is never given a category that says the domain is gone (classify.ts).
  const category = transientCategory(c.category, c.permanence);
  const classification =
    category === c.category
      ? c
      : {
          ...c,
          category,
          scope: CATEGORY_SCOPE[category],
          action: defaultAction(category, c.permanence, c.confidence),
        };
  if (trail[trail.length - 1] !== classification.ruleId) trail.push(classification.ruleId);
  return { classification, trail };
}

function decide(
  r: FoundRecipient,
  context: string,
  classifyReply: (input: ReplyInput) => Classification,
): Classification {
  if (r.action === 'delivered' || r.action === 'relayed' || r.action === 'expanded') {
    return make('delivered', 'none', 'report.action-delivered', 'high');
  }
  const reply = findReply(r.diagnostic);
  const code = r.replyCode ?? reply.code;
  // Prefer the enhanced status printed with the reply; else the DSN's own Status.
  const enhanced = reply.enhanced ?? r.status;
  let c: Classification | null = null;
  if (r.diagnostic.trim() !== '') {
    c = classifyReply({ code: code ?? 0, enhanced, text: reply.text, phase: r.phase });
  }
  if ((c === null || c.category === 'unknown') && r.status !== null && r.status !== enhanced) {
    const s = classifyReply({ code: code ?? 0, enhanced: r.status, text: '', phase: r.phase });
    if (s.category !== 'unknown') c = s;
  }
  if ((c === null || c.category === 'unknown') && r.status !== null && r.diagnostic.trim() === '') {
    c = classifyReply({ code: code ?? 0, enhanced: r.status, text: '', phase: r.phase });
  }
  const permanence = permanenceOf(r, code, enhanced);
  if (c === null) c = make('unknown', permanence, 'report.no-diagnostic', 'low');
  else if (code === null && enhanced === null && c.permanence !== permanence && c.category !== 'delivered') {
    // Without a reply code or status the classifier can only guess; the report's own
    // Action (failed / delayed) says whether the sender's MTA gave up.
    c = { ...c, permanence, action: defaultAction(c.category, permanence, c.confidence) };
  }

  const final = r.action === 'delayed' ? 'transient' : 'permanent';
  if (isLocalMailer(r) && LOCAL_MAILER_REPLACES.has(c.category)) {
    // A local delivery program (procmail, maildrop, a "|/path" pipe) failed: its words
    // ("No such user" from getpwnam, an exit status like 255) are about that program, not
    // an SMTP server's verdict on the address. A mailer error; more specific texts (quota,
    // expiry) keep their category.
    return make('remote_error', final, 'report.local-mailer');
  }
  if (c.category === 'expired') {
    // "Message expired, DNS query failed", "my name was rejected … in the queue too long": the
    // MTA gave up, and says why. A cause the words name beats the bare fact of expiry.
    const cause = causeOfExpiry(reply.text, code, r.phase, classifyReply);
    if (cause !== null)
      c = { ...cause, permanence: final, action: defaultAction(cause.category, final, cause.confidence) };
    // An expiry is final when the report says the MTA gave up, whatever the last 4xx said.
    else return c.permanence === final ? c : make('expired', final, c.ruleId);
  }
  if (EXPIRY_REPLACES.has(c.category)) {
    // RFC 3463 X.4.7 "delivery time expired", or the MTA's own words for it.
    if (/^[45]\.4\.7$/.test(r.status ?? '') || looksExpired(r.diagnostic) || looksExpired(context)) {
      return make('expired', final, 'report.expired');
    }
    // A final failure whose cause was temporary (4xx reply, 4.x.x status, or a connection
    // that never succeeded): the reporting MTA retried until its queue lifetime ran out.
    // A routing loop (RFC 3463 X.4.6, "forwarded more than the maximum allowed times") is
    // reported at once, not after retries: it stays what it is.
    const loop = c.ruleId.endsWith('mail-loop') || /^[45]\.4\.6$/.test(r.status ?? enhanced ?? '');
    const temporary =
      !loop &&
      ((code !== null && code >= 400 && code < 500) ||
        (code === null &&
          // A connection that never succeeded was retried.
          (enhanced?.startsWith('4.') === true || c.category === 'network_error')));
    // Only when the last attempt could not get an answer (no connection, no reply, a
    // greylisting deferral): a remote's own temporary error ("452 4.3.1 Insufficient system
    // resources", a DNS SERVFAIL) says more about why the message never went through.
    const noAnswer = c.category !== 'remote_error' && c.category !== 'dns_failure';
    if (r.action === 'failed' && temporary && noAnswer)
      return make('expired', 'permanent', 'report.expired-after-retries');
  }
  if (c.category === 'unknown' || (c.category === 'protocol_error' && r.phase === 'ehlo')) {
    if (r.phase === 'mail') return make('sender_rejected', permanence, 'report.phase-mail');
    if (r.phase === 'connect' || r.phase === 'ehlo')
      return make('ip_blocked', permanence, 'report.phase-connect');
  }
  if (r.phase === 'connect' && CONNECT_REFUSALS.has(c.category)) {
    // Refused in the greeting (Postfix "refused to talk to me", Exim "after initial
    // connection"): nothing about the message or recipient was known yet, so a vague "Access
    // denied" or "Service not available" there is a refusal of the connecting client
    // (RFC 5321 §3.1, §4.3.2: 554 or 421 instead of 220).
    return make('ip_blocked', c.permanence, 'report.connect-refused');
  }
  if (
    ADDRESS_CATEGORIES.has(c.category) &&
    (r.phase === 'data' || r.phase === 'dot') &&
    // Provider rules know their provider: Yahoo ("554 delivery error: dd ...") accepts every
    // RCPT TO and refuses unknown or disabled mailboxes only after DATA.
    /^(?:generic|corpus|rfc3463|catch-all)\./.test(c.ruleId)
  ) {
    // The server accepted the recipient at RCPT TO and refused only the message after
    // DATA: whatever the words ("550 : User unknown" from filtering carriers), the address
    // was good enough to accept, so this is a refusal of the message, not grounds to
    // suppress the address.
    return make('policy', c.permanence, 'report.post-data-refusal');
  }
  if (
    c.category === 'recipient_unknown' &&
    r.phase === 'unknown' &&
    // A provider's wording (its rules answer with high confidence) with its reply code is that
    // provider's verdict; quoted without any reply code by whoever relayed it, it is as
    // unconfirmed as generic words. A mail system's own directory wording (Domino) stays
    // first-hand.
    (/^(?:generic|corpus|rfc3463|catch-all)\./.test(c.ruleId) ||
      (code === null && c.confidence === 'high')) &&
    // The mailbox's own server reporting on its own directory (Exchange "The recipient name is
    // not recognized", IMail "Unknown user") is first-hand, unless it quotes a remote reply.
    !(r.firstHand === true && code === null && reply.enhanced === null) &&
    !/^[45]\.1\./.test(enhanced ?? '') &&
    !ADDRESS_NOT_FOUND_SUMMARY.test(context)
  ) {
    // A "User unknown" that says neither which command it answered nor an addressing status
    // (RFC 3463 X.1.x), from a reporter that may be a relay: too weak to suppress on.
    // Carriers that filter per recipient answer exactly so to senders the recipient refused
    // (docomo, au, SoftBank: "550 Unknown user" after DATA), and a gateway's 5.7.1 "User
    // unknown" is a refusal by policy. So the words are kept (recipient_unknown, or for an
    // X.2.1 status a disabled mailbox, RFC 3463 §3.3) at low confidence, and the address is
    // not suppressed.
    const category = /^[45]\.2\.1$/.test(enhanced ?? '') ? 'mailbox_disabled' : 'recipient_unknown';
    return {
      ...make(
        category,
        c.permanence,
        category === 'mailbox_disabled'
          ? 'report.unconfirmed-mailbox-disabled'
          : 'report.unconfirmed-user-unknown',
        'low',
      ),
      // What was said is kept as the category; what is done is a bounce of this message
      // without suppressing the address (docs/architecture.md, "Bounces and the taxonomy").
      action: c.permanence === 'permanent' ? 'fail' : 'retry',
    };
  }
  return c;
}

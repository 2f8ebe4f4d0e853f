/**
 * The SMTP reply classifier: one reply (code, enhanced status, text, provider, phase) in,
 * one Classification (category, permanence, scope, action, rule id) out. Pure: no I/O,
 * no clock, no randomness. The rules are data (rules/*.ts); the first rule that matches
 * wins, in this order:
 *   1. provider rules (Google, Microsoft, Yahoo, …): their wording is the most precise;
 *   2. generic text rules: what many MTAs say (Spamhaus listings, "user unknown", …);
 *   3. the RFC 3463 / RFC 7372 enhanced-status table;
 *   4. a catch-all on the reply code's class, so no reply is ever left unclassified.
 * Text rules run before the status table because servers often send a status that
 * contradicts their text (e.g. "550 5.1.1 … blocked using Spamhaus" is an IP block, not
 * an unknown user; docs/architecture.md, "Bounces and the taxonomy").
 */
import { type MatchOptions, type NormalizedReply, type ReplyRule, ruleMatches } from './rule.js';
import { CATCH_ALL_RULES } from './rules/catch-all.js';
import { ENHANCED_STATUS_RULES } from './rules/enhanced-status.js';
import { GENERIC_RULES } from './rules/generic.js';
import { PROVIDER_RULES } from './rules/providers.js';
import type {
  Action,
  Category,
  Classification,
  Confidence,
  Permanence,
  ReplyInput,
  Scope,
} from './taxonomy.js';

/** Every rule, in the order they are tried. */
export const RULES: readonly ReplyRule[] = [
  ...PROVIDER_RULES,
  ...GENERIC_RULES,
  ...ENHANCED_STATUS_RULES,
  ...CATCH_ALL_RULES,
];

/** Scope per category (docs/architecture.md, "Bounces and the taxonomy"). */
export const CATEGORY_SCOPE: Readonly<Record<Category, Scope>> = {
  recipient_unknown: 'recipient',
  mailbox_disabled: 'recipient',
  mailbox_full: 'recipient',
  domain_unknown: 'recipient',
  has_moved: 'recipient',
  message_too_large: 'message',
  content_rejected: 'message',
  spam_content: 'message',
  virus_detected: 'message',
  policy: 'message',
  sender_rejected: 'sender',
  auth_failure: 'sender',
  ptr_required: 'ip',
  ip_blocked: 'ip',
  rate_limited: 'ip',
  greylisted: 'recipient',
  relay_denied: 'destination',
  tls_failure: 'destination',
  protocol_error: 'infrastructure',
  network_error: 'infrastructure',
  dns_failure: 'infrastructure',
  remote_error: 'destination',
  expired: 'message',
  on_hold: 'message',
  auto_reply: 'none',
  complaint: 'recipient',
  delivered: 'none',
  unknown: 'none',
};

// A DSN Diagnostic-Code carries a type prefix (RFC 3464 §2.3.6): "smtp; 550 …".
const DIAG_TYPE = /^\s*(?:smtp|x-postfix|x-unix|x-local|x-exim|x-qmail)\s*;\s*/i;
const LEADING_CODE = /^\s*[2-5]\d\d(?:[ -]|$)/;
// RFC 3463 §2; Exchange writes "#5.1.0", some servers "5.1.1:".
const LEADING_STATUS = /^\s*#?([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]\d)[:,]?/;
const ANY_STATUS = /(?<![\d.])#?([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)/g;

function statusOf(m: RegExpExecArray): string {
  return `${m[1]}.${Number(m[2])}.${Number(m[3])}`;
}

/** Strips code and status off the text and finds the enhanced status when not given. */
export function normalizeReply(input: ReplyInput): NormalizedReply {
  let text = input.text.replace(/\s+/g, ' ').replace(DIAG_TYPE, '');
  let found: string | null = null;
  // Peel "550 5.1.1 " and repeated "550-5.1.1 " prefixes of joined continuation lines.
  for (let i = 0; i < 2; i++) {
    const c = LEADING_CODE.exec(text);
    if (c) text = text.slice(c[0].length);
    const s = LEADING_STATUS.exec(text);
    if (s) {
      found ??= statusOf(s);
      text = text.slice(s[0].length);
    }
    if (!c && !s) break;
  }
  // Continuation lines joined into one ("550-5.7.1 Messages with multiple 550 5.7.1 addresses
  // in From: header", RFC 5321 §4.2.1): drop the repeated "code status" prefixes mid-text.
  if (input.code >= 200 && input.code < 600) {
    text = text.replace(new RegExp(`\\s${input.code}[ -]#?[245]\\.\\d{1,3}\\.\\d{1,3}(?=\\s)`, 'g'), '');
  }
  const codeClass = Math.floor(input.code / 100);
  let status = normalizeStatus(input.enhanced) ?? found;
  if (status === null) {
    // Fall back to a status inside the text ("… RESOLVER.ADR.RecipNotFound; 5.1.10"), but only
    // one of the reply code's class, so an IP address such as 5.9.1.2 is not mistaken for one.
    for (const m of text.matchAll(ANY_STATUS)) {
      if (Number(m[1]) === codeClass) {
        status = statusOf(m as unknown as RegExpExecArray);
        break;
      }
    }
  }
  return { code: input.code, status, text: text.trim() };
}

function normalizeStatus(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  const m = /^\s*#?([245])\.(\d{1,3})\.(\d{1,3})/.exec(s);
  return m ? statusOf(m) : null;
}

function permanenceOf(code: number, status: string | null): Permanence {
  const cls = Math.floor(code / 100);
  if (cls === 2) return 'none';
  if (cls === 4) return 'transient';
  if (cls === 5) return 'permanent';
  // No usable reply code (e.g. a DSN without one): fall back to the status class.
  if (status?.startsWith('5.')) return 'permanent';
  if (status?.startsWith('2.')) return 'none';
  return 'transient';
}

/**
 * The action a category calls for when its rule names none (docs/architecture.md, "Bounces
 * and the taxonomy").
 */
export function defaultAction(category: Category, permanence: Permanence, confidence?: Confidence): Action {
  switch (category) {
    case 'delivered':
    case 'auto_reply':
      return 'none';
    case 'recipient_unknown':
    case 'mailbox_disabled':
    case 'domain_unknown':
    case 'has_moved':
      // A 4xx "user unknown" is often a recipient check that failed for now (Postfix
      // "unverified address"): only a permanent answer justifies suppression, and only one
      // the classifier is sure of (a low-confidence verdict bounces without suppressing).
      if (permanence !== 'permanent') return 'retry';
      return confidence === 'low' ? 'fail' : 'suppress';
    case 'complaint':
      return 'suppress';
    case 'greylisted':
      return 'retry_same_ip';
    case 'rate_limited':
      return 'throttle_ip';
    case 'ip_blocked':
      return 'suspend_ip';
    default:
      if (permanence === 'permanent') return 'fail';
      if (permanence === 'none') return 'none';
      return 'retry';
  }
}

/**
 * How sure a rule is when it names none (docs/architecture.md, "Bounces and the taxonomy"): a
 * provider's own wording is high; a generic phrase or a specific enhanced status medium; a
 * status subject alone ("5.7.x") or the reply class alone low.
 */
export function confidenceOf(rule: ReplyRule): Confidence {
  if (rule.confidence !== undefined) return rule.confidence;
  if (rule.id.startsWith('catch-all.') || /^rfc3463\.\d\.\d+\.x$/.test(rule.id)) return 'low';
  if (rule.match.provider !== undefined) return 'high';
  return 'medium';
}

/**
 * The category a transient reply may carry. A 4xx is a "try again" (RFC 5321 §4.2.1), so it
 * never gets a category that condemns the address (recipient_unknown, domain_unknown,
 * has_moved: the hard-bounce categories): a 4xx "domain not found" is a name-service answer the
 * receiver will look up again (Postfix answers 450 for reject_unknown_recipient_domain when
 * the lookup failed temporarily), a dns_failure; a 4xx "user unknown" or "moved" is the
 * receiver unable to confirm the address for now (Postfix 450 4.1.1 "unverified address"
 * while its verification probe is pending), a remote_error.
 */
export function transientCategory(category: Category, permanence: Permanence): Category {
  if (permanence !== 'transient') return category;
  switch (category) {
    case 'domain_unknown':
      return 'dns_failure';
    case 'recipient_unknown':
    case 'has_moved':
      return 'remote_error';
    default:
      return category;
  }
}

/** Classification from a rule for a reply. */
export function applyRule(rule: ReplyRule, reply: NormalizedReply): Classification {
  const fixedNone = rule.category === 'delivered' || rule.category === 'auto_reply';
  const permanence = rule.permanence ?? (fixedNone ? 'none' : permanenceOf(reply.code, reply.status));
  // Only a reply that says "transient" (a 4xx, or a 4.x.x without a code) changes the category;
  // with neither, permanence is a guess the report layer corrects from the DSN's Action.
  const saysTransient =
    Math.floor(reply.code / 100) === 4 || (reply.code < 200 && reply.status?.startsWith('4.') === true);
  const category = saysTransient ? transientCategory(rule.category, permanence) : rule.category;
  const confidence = confidenceOf(rule);
  return {
    category,
    permanence,
    scope: rule.scope ?? CATEGORY_SCOPE[category],
    action: rule.action ?? defaultAction(category, permanence, confidence),
    confidence,
    ruleId: rule.id,
  };
}

/** The first rule that matches, and the reply as normalised; the catch-all guarantees one. */
export function matchReply(
  input: ReplyInput,
  options: MatchOptions = {},
): { rule: ReplyRule; reply: NormalizedReply } {
  const reply = normalizeReply(input);
  for (const rule of RULES) {
    if (ruleMatches(rule, input, reply, options)) return { rule, reply };
  }
  // Unreachable while CATCH_ALL_RULES ends with an empty matcher; kept total on purpose.
  return { rule: CATCH_ALL_RULES[CATCH_ALL_RULES.length - 1]!, reply };
}

/** Classifies one SMTP reply. */
export function classifyReply(input: ReplyInput): Classification {
  const { rule, reply } = matchReply(input);
  return applyRule(rule, reply);
}

import { OTHER_PROVIDER } from '../delivery/providers.js';
import type { NotableReply, ProviderId } from './ip-actor-types.js';

/**
 * Reputation rules of the IP actor (docs/architecture.md, "The routing wing"): what a
 * receiver's reply, or the IP's recent outcome rates with one provider, mean for that IP
 * with that provider. Rules are data; each reply rule carries real replies (from the
 * development corpus of SMTP replies that test/unit/bounce/classify-corpus.test.ts reads, or
 * quoted where noted) that test/unit/ip/reputation.test.ts checks fire it.
 *
 * Effects: `suspend` (no new mail from this IP to the provider), `throttle` (the receiver
 * asked for less: routing prefers other IPs, the dispatcher may slow down) and
 * `lower_weight` (a smaller share of the provider's traffic). Each lasts `durationMs` from
 * its last match; a new match extends it.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export type EffectKind = 'suspend' | 'throttle' | 'lower_weight';

export type RuleEffect =
  | { readonly kind: 'suspend'; readonly durationMs: number }
  | { readonly kind: 'throttle'; readonly durationMs: number }
  | { readonly kind: 'lower_weight'; readonly durationMs: number; readonly weightFactor: number };

export interface ReplyMatch {
  /** Reply codes the rule applies to; absent = any. */
  readonly code?: readonly number[];
  /** Enhanced status prefix, e.g. "5.7." ; absent = any (many replies carry none). */
  readonly enhancedPrefix?: string;
  /** Tested against the reply text (with or without the leading codes). */
  readonly text: RegExp;
}

export interface ReputationRule {
  readonly id: string;
  /** The provider whose replies this rule reads; null = any provider. */
  readonly provider: ProviderId | null;
  readonly match: ReplyMatch;
  readonly effect: RuleEffect;
  /** Why, with the provider's page where there is one. */
  readonly note: string;
  /** Real replies that fire this rule, full lines as received. */
  readonly examples: readonly string[];
}

/**
 * First match wins, so provider rules come before the generic blocklist rules. Durations are
 * ours unless the note says otherwise: long enough not to hammer a receiver that said no,
 * short enough that one stale block does not idle an IP for a day (a new match extends).
 */
export const REPUTATION_RULES: readonly ReputationRule[] = [
  {
    id: 'yahoo.ts04',
    provider: 'yahoo',
    // KumoMTA's shaping.toml suspends on `\[TS?S04\]` for 2 hours ("PROVIDED BY YAHOO!
    // DIRECTLY"), and KumoMTA PR #376: "Yahoo confirmed these four [TSS04, TSS05, IPTS04,
    // IPTS05] should all be treated similarly".
    match: { text: /\[(?:TSS?04|TSS05|IPTS0[45])\]/ },
    effect: { kind: 'suspend', durationMs: 2 * HOUR_MS },
    note: 'Yahoo deferral for unexpected volume or complaints: stop for 2 h (issue; Yahoo via KumoMTA)',
    examples: [
      '421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command))',
      // tutao/tutanota issue #7113, a real bounce.
      '421 4.7.0 [TSS04] Messages from 185.205.69.214 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
      // KumoCorp/kumomta PR #376, replies seen by the contributor.
      '421 4.7.0 [TSS05] Messages from a.b.c.d temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
      '421 [IPTS04] Messages from a.b.c.d temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
    ],
  },
  {
    id: 'yahoo.permanently-deferred',
    provider: 'yahoo',
    // Yahoo says retrying will not succeed, so this lasts longer than TS04; each new match
    // (one probe after expiry) extends it.
    match: { text: /All messages from \S+ will be permanently deferred/i },
    effect: { kind: 'suspend', durationMs: 4 * HOUR_MS },
    note: 'Yahoo [TS03]/[TSS09]/[TSS11]: all mail from the IP refused (senders.yahooinc.com/smtp-error-codes)',
    examples: [
      // Postfix queue listing posted on a public forum (a real deferral).
      '421 4.7.1 [TS03] All messages from 119.73.222.35 will be permanently deferred; Retrying will NOT succeed. See http://postmaster.yahoo.com/421-ts03.html',
      '553 5.7.2 [TSS09] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes',
      '553 5.7.2 [TSS11] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes',
    ],
  },
  {
    id: 'yahoo.ts01-ts02',
    provider: 'yahoo',
    match: { text: /\[TS0[12]\]/ },
    effect: { kind: 'throttle', durationMs: HOUR_MS },
    note: 'Yahoo temporary deferral for complaints: send less for an hour',
    examples: [
      // A real bounce report quoted in a public repository (throttled replies from Yahoo).
      '421 4.7.0 [TS01] Messages from 67.228.50.54 temporarily deferred due to user complaints - 4.16.55.1; see http://postmaster.yahoo.com/421-ts01.html',
      // A BT (Yahoo-hosted) bounce used as a parser test fixture in a public repository.
      '421 4.7.0 [TS02] Messages from 77.92.95.112 temporarily deferred due to user complaints - 4.16.56.1; see http://postmaster.yahoo.com/421-ts02.html',
    ],
  },
  {
    id: 'microsoft.blocklist',
    provider: 'microsoft',
    // S3150, S3140 (and the rest of the "S3xxx" family) come from Outlook.com's own block
    // list; delisting goes through sender.office.com (SendGrid support article
    // "Troubleshooting Microsoft Delivery Issues 550 5.7.1 S3140/S3150 Blocks").
    match: { text: /on our block list \(S\d+\)/i },
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Outlook.com block list: stop until delisted (a probe after expiry re-checks)',
    examples: [
      "550 5.7.1 Unfortunately, messages from [10.0.2.5] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
      // NDR quoted on virtbiz.com's knowledge base ("Outlook or Hotmail or Microsoft has blocked my email").
      "550 5.7.1 Unfortunately, messages from [11.22.33.44] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3140). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. [DM6NAM12FT056.eop-nam12.prod.protection.outlook.com]",
    ],
  },
  {
    id: 'microsoft.banned-ip',
    provider: 'microsoft',
    // Exchange Online 5.7.511 and 5.7.606-649: "The IP that you're attempting to send from
    // has been banned" (learn.microsoft.com, "Email non-delivery reports in Exchange Online").
    match: { code: [550], enhancedPrefix: '5.7.', text: /banned sending IP|banned sender/i },
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Exchange Online banned the IP: stop until delisted',
    examples: [
      '550 5.7.606 Access denied, banned sending IP [1.2.3.4]. To request removal from this list please visit https://sender.office.com/ and follow the directions. For more information please go to http://go.microsoft.com/fwlink/?LinkID=526655 (AS16012609) [DB5EUR01F',
      '550 5.7.511 Access denied, banned sender[1.2.3.4]. To request removal from this list please forward this message to delist@messaging.microsoft.com. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653. AS(508) [AM5EUR02FT019.eop-EUR0',
    ],
  },
  {
    id: 'microsoft.rate-limited',
    provider: 'microsoft',
    match: { code: [451], text: /temporarily rate limited due to IP reputation/i },
    effect: { kind: 'throttle', durationMs: HOUR_MS },
    note: 'Outlook.com 4.7.650: slow down (the IP reputation is under watch)',
    examples: [
      '451 4.7.650 The mail server [192.0.2.5] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775) [***.prod.protection.outlook.com] (in reply to MAIL FROM command))',
    ],
  },
  {
    id: 'microsoft.server-busy',
    provider: 'microsoft',
    match: { code: [451], enhancedPrefix: '4.7.500', text: /Server busy/i },
    effect: { kind: 'throttle', durationMs: 30 * MINUTE_MS },
    note: 'Exchange Online 4.7.500 "Server busy" names the sending IP: a per-IP deferral, slow down',
    examples: [
      '451 4.7.500 Server busy. Please try again later from [192.0.2.2]. (AS761) (in reply to RCPT TO command))',
    ],
  },
  {
    id: 'google.ip-blocked',
    provider: 'google',
    // support.google.com/mail/answer/81126 (sender guidelines): blocked for the IP's rate of
    // unsolicited mail. Not per message: every message from the IP is refused.
    match: { code: [550], text: /unusual rate of unsolicited mail originating from your IP/i },
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Gmail 5.7.28/5.7.1 blocks the IP for spam rate',
    examples: [
      '550 5.7.28 There is an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been blocked. To review our bulk email senders guidelines, go to Email sender guidelines.',
      '550 5.7.1 Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP ad- dress has been blocked. Review https://support.google.com/mail/answer/81126',
    ],
  },
  {
    id: 'google.rate-limited',
    provider: 'google',
    // 421 4.7.28 for the IP's mail rate. The other 4.7.28 ("exceeded its quota for sending
    // messages with the same Message-ID") is about one message and must not match.
    match: { code: [421], text: /unusual rate of (?:unsolicited )?mail/i },
    effect: { kind: 'throttle', durationMs: HOUR_MS },
    note: 'Gmail 4.7.28/4.7.0 rate limit on the IP: slow down',
    examples: ['421 4.7.28 Gmail has detected an unusual rate of mail (originating from)'],
  },
  {
    id: 'google.low-reputation-deferred',
    provider: 'google',
    match: { code: [421], text: /very low reputation of the sending IP/i },
    effect: { kind: 'throttle', durationMs: 2 * HOUR_MS },
    note: 'Gmail 4.7.0 rate limit for low IP/domain reputation',
    examples: [
      '421 4.7.0 This message is suspicious due to the very low reputation of the sending IP address/domain. To protect our users from spam, mail sent from your IP address has been temporarily rate limited. For more information, go to Why has Gmail blocked my message',
    ],
  },
  {
    id: 'google.low-reputation-blocked',
    provider: 'google',
    // Per message, and the IP or the domain may be to blame: a smaller share, not a stop.
    match: { code: [550], text: /very low reputation of the sending IP/i },
    effect: { kind: 'lower_weight', durationMs: 4 * HOUR_MS, weightFactor: 0.25 },
    note: 'Gmail 5.7.1 refuses messages for low IP/domain reputation',
    examples: [
      '550 5.7.1 Our system has detected that this message is likely suspicious due to the very low reputation of the sending IP address/domain. To best protect our users from spam, the message has been blocked. Please visit https://support.google.com/mail/answer/188',
    ],
  },
  {
    id: 'google.likely-unsolicited',
    provider: 'google',
    // About the message's content more than the IP (support.google.com/mail/answer/188131).
    match: { code: [550], text: /likely unsolicited mail/i },
    effect: { kind: 'lower_weight', durationMs: 2 * HOUR_MS, weightFactor: 0.5 },
    note: 'Gmail 5.7.1 spam block of a message: this IP gets less Gmail traffic for a while',
    examples: [
      '550 5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked. For more information, visit https://support.google.com/mail/answer/188131',
    ],
  },
  {
    id: 'blocklist.spamhaus',
    provider: null,
    // An IP listing (SBL, XBL, PBL, ZEN) refuses the IP at every receiver that consults it.
    // A DBL listing ("MailFrom domain is listed in Spamhaus") is about a domain, not the IP:
    // left out.
    match: { text: /^(?![\s\S]*(?:\bdbl\b|domain is listed))[\s\S]*spamhaus/i },
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Receiver refuses the IP for a Spamhaus listing',
    examples: [
      '550 5.7.1 Mail from 11.22.33.44 rejected using zen.spamhaus.org. Please see http://www.spamhaus.org/query/bl?ip=11.22.33.44',
      '554 5.7.1 Service unavailable; Client host [11.22.33.44] blocked using sbl-xbl.spamhaus.org; https://www.spamhaus.org/query/ip/11.22.33.44',
      "553 5.7.1 [TSS07] Connections will not be accepted from 11.22.33.44, because the ip is in Spamhaus's list; see https://help.yahoo.com/kb/postmaster/SLN5070.html",
      '553 Mail from 11.22.33.44 not allowed - 5.7.1 [BL23] Connections not accepted from IP addresses on Spamhaus XBL; see http://postmaster.yahoo.com/errors/550-bl23.html [550]',
    ],
  },
  {
    id: 'blocklist.dnsbl',
    provider: null,
    // Other DNS block lists. Greylisting services answer "blocked using grey.rbl" and are no
    // listing; "your domain has been blacklisted" is about the sender's domain, not the IP.
    match: {
      text: /^(?![\s\S]*greylist)[\s\S]*(?:blocked using|blacklisted by|DNS blacklist|dnsbl\.|your IP(?: address)? has been (?:blacklisted|blocklisted|blocked))/i,
    },
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Receiver refuses the IP for a DNSBL listing',
    examples: [
      '591 sofia.nascimento@yanabg.com your host [1.2.3.4] is blacklisted by dnsbl.sorbs.net. Currently Sending Spam See: http://www.sorbs.net/lookup.shtml?1.2.3.4. Send your questions to blacklist-admin@mx01.cmailpro.net',
      '554 Connection from 1.2.3.4 rejected for policy reasons. Host found in DNS blacklist at dnsbl.sorbs.net',
      '554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using ee.countries.nerd.dk; Your IP is in ee, rejected based on geographical location',
      '550 Your IP has been blacklisted',
    ],
  },
];

/** Whether `reply` from `provider` is matched by `rule`. */
export function ruleMatches(rule: ReputationRule, provider: ProviderId, reply: NotableReply): boolean {
  if (rule.provider !== null && rule.provider !== provider) return false;
  const m = rule.match;
  if (m.code && !m.code.includes(reply.code)) return false;
  if (m.enhancedPrefix !== undefined && !(reply.enhanced ?? '').startsWith(m.enhancedPrefix)) return false;
  return m.text.test(reply.text);
}

/** The first rule that matches a reply from `provider`, or null. */
export function matchReply(
  provider: ProviderId,
  reply: NotableReply,
  rules: readonly ReputationRule[] = REPUTATION_RULES,
): ReputationRule | null {
  return rules.find((r) => ruleMatches(r, provider, reply)) ?? null;
}

/**
 * The effect a rule has for `provider`. "other" rolls up every domain without a named
 * provider, thousands of unrelated receivers: one of them refusing the IP must not stop it for
 * all the others, so a suspension there becomes a smaller share instead.
 */
export function effectFor(rule: Pick<ReputationRule, 'effect'>, provider: ProviderId): RuleEffect {
  if (provider === OTHER_PROVIDER && rule.effect.kind === 'suspend') {
    return { kind: 'lower_weight', durationMs: rule.effect.durationMs, weightFactor: 0.25 };
  }
  return rule.effect;
}

// ---- windowed outcome rates ----

export interface OutcomeCounts {
  readonly delivered: number;
  readonly deferred: number;
  readonly bounced: number;
  readonly complaints: number;
}

export const ZERO_COUNTS: OutcomeCounts = Object.freeze({
  delivered: 0,
  deferred: 0,
  bounced: 0,
  complaints: 0,
});

export function addCounts(a: OutcomeCounts, b: OutcomeCounts): OutcomeCounts {
  return {
    delivered: a.delivered + b.delivered,
    deferred: a.deferred + b.deferred,
    bounced: a.bounced + b.bounced,
    complaints: a.complaints + b.complaints,
  };
}

/** Messages tried: every attempt ends delivered, deferred or bounced. */
export function attemptsOf(c: OutcomeCounts): number {
  return c.delivered + c.deferred + c.bounced;
}

/** Bounced share of final outcomes (delivered + bounced), 0..1; deferrals are not final. */
export function bounceRate(c: OutcomeCounts): number {
  const final = c.delivered + c.bounced;
  return final === 0 ? 0 : c.bounced / final;
}

/** Complaints per delivered message, 0..1 (how Gmail and Yahoo state their spam-rate limits). */
export function complaintRate(c: OutcomeCounts): number {
  return c.delivered === 0 ? 0 : c.complaints / c.delivered;
}

/** Deferred share of attempts, 0..1. */
export function deferralRate(c: OutcomeCounts): number {
  const n = attemptsOf(c);
  return n === 0 ? 0 : c.deferred / n;
}

/** One fixed time bucket of counts; plain JSON. */
export interface WindowBucket extends OutcomeCounts {
  /** Start of the bucket, ms since epoch, a multiple of the bucket length. */
  readonly startMs: number;
}

/** 12 buckets of 5 min: rates over the last hour, moving in 5 min steps. */
export const WINDOW_BUCKET_MS = 5 * MINUTE_MS;
export const WINDOW_BUCKETS = 12;
export const WINDOW_MS = WINDOW_BUCKET_MS * WINDOW_BUCKETS;

/** Buckets still inside the window that ends at `nowMs`. */
export function rollWindow(buckets: readonly WindowBucket[], nowMs: number): WindowBucket[] {
  const oldestStart = bucketStart(nowMs) - WINDOW_MS + WINDOW_BUCKET_MS;
  return buckets.filter((b) => b.startMs >= oldestStart);
}

export function bucketStart(nowMs: number): number {
  return Math.floor(nowMs / WINDOW_BUCKET_MS) * WINDOW_BUCKET_MS;
}

/** Adds counts to the bucket holding `nowMs`, dropping buckets that left the window. */
export function addToWindow(
  buckets: readonly WindowBucket[],
  counts: OutcomeCounts,
  nowMs: number,
): WindowBucket[] {
  const start = bucketStart(nowMs);
  const kept = rollWindow(buckets, nowMs);
  const i = kept.findIndex((b) => b.startMs === start);
  if (i >= 0) {
    kept[i] = { startMs: start, ...addCounts(kept[i]!, counts) };
    return kept;
  }
  kept.push({ startMs: start, ...addCounts(ZERO_COUNTS, counts) });
  kept.sort((a, b) => a.startMs - b.startMs);
  return kept;
}

export function windowTotals(buckets: readonly WindowBucket[], nowMs: number): OutcomeCounts {
  let total: OutcomeCounts = ZERO_COUNTS;
  for (const b of rollWindow(buckets, nowMs)) total = addCounts(total, b);
  return total;
}

/** When the oldest bucket leaves the window (the rates change then), or null when empty. */
export function windowChangeMs(buckets: readonly WindowBucket[]): number | null {
  if (buckets.length === 0) return null;
  return Math.min(...buckets.map((b) => b.startMs)) + WINDOW_MS;
}

// ---- rate rules ----

export type RateMetric = 'bounce' | 'complaint' | 'deferral';

export interface RateRule {
  readonly id: string;
  readonly metric: RateMetric;
  /** Fires at or above this rate, 0..1. */
  readonly threshold: number;
  /** Fewer outcomes than this (in the metric's denominator) prove nothing. */
  readonly minVolume: number;
  readonly effect: RuleEffect;
  readonly note: string;
}

/**
 * Level-triggered: active while the windowed rate is over its threshold, gone as soon as it is
 * back under (the IP recovers by sending well). `durationMs` only bounds an effect that is no
 * longer re-evaluated.
 */
export const RATE_RULES: readonly RateRule[] = [
  {
    id: 'rate.bounce',
    metric: 'bounce',
    // Amazon SES reviews an account at a 5 % bounce rate and recommends staying under 2 %
    // (SES Developer Guide, "Sending review process FAQs").
    threshold: 0.05,
    minVolume: 100,
    effect: { kind: 'lower_weight', durationMs: HOUR_MS, weightFactor: 0.5 },
    note: 'bounce rate ≥ 5 % over the last hour',
  },
  {
    id: 'rate.complaint',
    metric: 'complaint',
    // Gmail and Yahoo sender requirements (2024): keep the spam rate under 0.1 % and never
    // reach 0.3 % (support.google.com/a/answer/81126, senders.yahooinc.com/best-practices).
    threshold: 0.003,
    minVolume: 1000,
    effect: { kind: 'lower_weight', durationMs: HOUR_MS, weightFactor: 0.25 },
    note: 'complaint rate ≥ 0.3 % over the last hour',
  },
  {
    id: 'rate.deferral',
    metric: 'deferral',
    // Ours: when close to a third of attempts are deferred, the receiver is pushing back.
    threshold: 0.3,
    minVolume: 100,
    effect: { kind: 'throttle', durationMs: HOUR_MS },
    note: 'deferral rate ≥ 30 % over the last hour',
  },
];

function rateOf(metric: RateMetric, c: OutcomeCounts): { rate: number; volume: number } {
  switch (metric) {
    case 'bounce':
      return { rate: bounceRate(c), volume: c.delivered + c.bounced };
    case 'complaint':
      return { rate: complaintRate(c), volume: c.delivered };
    case 'deferral':
      return { rate: deferralRate(c), volume: attemptsOf(c) };
  }
}

/** The rate rules over threshold for these windowed counts. */
export function firingRateRules(c: OutcomeCounts, rules: readonly RateRule[] = RATE_RULES): RateRule[] {
  return rules.filter((r) => {
    const { rate, volume } = rateOf(r.metric, c);
    return volume >= r.minVolume && rate >= r.threshold;
  });
}

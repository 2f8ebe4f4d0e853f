import { applyRule, matchReply } from '../bounce/classify.js';
import type { Action } from '../bounce/taxonomy.js';
import { OTHER_PROVIDER, type ProviderId } from '../delivery/providers.js';
import type { NotableReply } from './ip-actor-types.js';

/**
 * Reputation rules of the IP actor (docs/architecture.md, "The routing wing"): what a
 * receiver's reply, or the IP's recent outcome rates with one provider, mean for that IP
 * with that provider.
 *
 * Replies are recognised once, by the bounce classifier's rules (core/bounce/rules/): a
 * reply rule here names a classifier rule by its id and says what its replies do to the IP.
 * The real replies that fire it are that classifier rule's examples, which
 * test/unit/ip/reputation.test.ts runs through both.
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

export interface ReputationRule {
  /**
   * Id of the classifier rule whose replies this reads (core/bounce/rules/), e.g.
   * "yahoo.ts04". It is also the effect's id in the IP state and the route state's reason.
   * A provider rule reads replies from its own provider only.
   */
  readonly ruleId: string;
  readonly effect: RuleEffect;
  /** Why, with the provider's page where there is one. */
  readonly note: string;
}

/**
 * Durations are ours unless the note says otherwise: long enough not to hammer a receiver
 * that said no, short enough that one stale block does not idle an IP for a day (a new match
 * extends). A classifier rule without a line here leaves the IP alone.
 */
export const REPUTATION_RULES: readonly ReputationRule[] = [
  {
    ruleId: 'yahoo.ts04',
    // KumoMTA's shaping.toml suspends on `\[TS?S04\]` for 2 hours ("PROVIDED BY YAHOO!
    // DIRECTLY"); TSS05, IPTS04 and IPTS05 are the same deferral (KumoMTA pull request #376).
    effect: { kind: 'suspend', durationMs: 2 * HOUR_MS },
    note: 'Yahoo deferral for unexpected volume or complaints: stop for 2 h (Yahoo via KumoMTA)',
  },
  {
    ruleId: 'yahoo.ts03',
    // Yahoo says retrying will not succeed, so this lasts longer than TS04; each new match
    // (one probe after expiry) extends it.
    effect: { kind: 'suspend', durationMs: 4 * HOUR_MS },
    note: 'Yahoo [TS03]: all mail from the IP permanently deferred (postmaster.yahoo.com/421-ts03.html)',
  },
  {
    ruleId: 'yahoo.tss-permanent',
    effect: { kind: 'suspend', durationMs: 4 * HOUR_MS },
    note: 'Yahoo [TSS09]/[TSS11]: all mail from the IP refused (senders.yahooinc.com/smtp-error-codes)',
  },
  {
    ruleId: 'yahoo.ts01',
    effect: { kind: 'throttle', durationMs: HOUR_MS },
    note: 'Yahoo [TS01] temporary deferral for complaints: send less for an hour',
  },
  {
    ruleId: 'yahoo.ts02',
    effect: { kind: 'throttle', durationMs: HOUR_MS },
    note: 'Yahoo [TS02] temporary deferral for complaints: send less for an hour',
  },
  {
    ruleId: 'yahoo.bl21-spamhaus',
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Yahoo refuses the IP for a Spamhaus listing ([BL21], [BL23], [TSS07])',
  },
  {
    ruleId: 'microsoft.s3150-network-block',
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Outlook.com block list (S3140, S3150): stop until delisted (a probe after expiry re-checks)',
  },
  {
    // Exchange Online 5.7.511 and 5.7.606-649: "The IP that you're attempting to send from
    // has been banned" (learn.microsoft.com, "Email non-delivery reports in Exchange Online").
    ruleId: 'microsoft.5.7.606-banned-ip',
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Exchange Online banned the IP: stop until delisted',
  },
  {
    ruleId: 'microsoft.5.7.511-banned-sender',
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Exchange Online banned the IP: stop until delisted',
  },
  {
    ruleId: 'microsoft.4.7.650-reputation-throttle',
    effect: { kind: 'throttle', durationMs: HOUR_MS },
    note: 'Outlook.com 4.7.650: slow down (the IP reputation is under watch)',
  },
  {
    ruleId: 'microsoft.4.7.500-server-busy',
    effect: { kind: 'throttle', durationMs: 30 * MINUTE_MS },
    note: 'Exchange Online 4.7.500 "Server busy" names the sending IP: a per-IP deferral, slow down',
  },
  {
    // support.google.com/mail/answer/81126 (sender guidelines): blocked for the IP's rate of
    // unsolicited mail. Not per message: every message from the IP is refused.
    ruleId: 'google.5.7.28-spam',
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Gmail 5.7.28/5.7.1 blocks the IP for spam rate',
  },
  {
    // 4.7.28 for the IP's mail rate. The other 4.7.28 ("exceeded its quota for sending
    // messages with the same Message-ID") is about one message: google.recipient-policy.
    ruleId: 'google.4.7.28-rate',
    effect: { kind: 'throttle', durationMs: HOUR_MS },
    note: 'Gmail 4.7.28/4.7.0 rate limit on the IP: slow down',
  },
  {
    ruleId: 'google.low-reputation-deferred',
    effect: { kind: 'throttle', durationMs: 2 * HOUR_MS },
    note: 'Gmail 4.7.0 rate limit for low IP/domain reputation',
  },
  {
    ruleId: 'google.low-reputation-blocked',
    // Per message, and the IP or the domain may be to blame: a smaller share, not a stop.
    effect: { kind: 'lower_weight', durationMs: 4 * HOUR_MS, weightFactor: 0.25 },
    note: 'Gmail 5.7.1 refuses messages for low IP/domain reputation',
  },
  {
    ruleId: 'google.spam',
    // About the message's content more than the IP (support.google.com/mail/answer/188131).
    effect: { kind: 'lower_weight', durationMs: 2 * HOUR_MS, weightFactor: 0.5 },
    note: 'Gmail 5.7.1 spam block of a message: this IP gets less Gmail traffic for a while',
  },
  {
    // DNSBL and other IP listings (Spamhaus SBL, XBL, PBL, ZEN, SORBS, …) refuse the IP at
    // every receiver that consults them. The classifier reads domain listings (Spamhaus DBL,
    // "your domain has been blacklisted") and greylisting services answering from a DNSBL-like
    // zone ("blocked using grey.rbl") with rules of their own, which leave the IP alone.
    ruleId: 'generic.ip-blocklisted',
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Receiver refuses the IP for a block-list listing',
  },
  {
    // The Barracuda Reputation Block List (b.barracudacentral.org), as a Barracuda gateway
    // answers for it: a listing of the IP.
    ruleId: 'barracuda.brbl',
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Barracuda gateway refuses the IP for a Barracuda Reputation listing',
  },
  {
    // A country list served as a DNSBL zone ("blocked using ee.countries.nerd.dk") lists the
    // IP's address like any other DNSBL; another of our IPs, perhaps elsewhere, may pass.
    ruleId: 'generic.geo-blocked',
    effect: { kind: 'suspend', durationMs: 6 * HOUR_MS },
    note: 'Receiver refuses the IP for its location (a country DNSBL)',
  },
];

const BY_RULE_ID: ReadonlyMap<string, ReputationRule> = new Map(REPUTATION_RULES.map((r) => [r.ruleId, r]));

/**
 * What a reply does to the IP when the table above has no row for its classifier rule: the
 * classification's action decides (docs/architecture.md, "Bounces and the taxonomy"). Milder
 * than the named rows, whose providers document what their replies mean: a generic refusal of
 * the IP gives it a smaller share for a while, a generic rate limit slows it down. Other
 * actions (retry, fail, suppress, a greylisting retry) leave the IP alone.
 */
export const ACTION_EFFECTS: Readonly<Partial<Record<Action, RuleEffect>>> = {
  suspend_ip: { kind: 'lower_weight', durationMs: 2 * HOUR_MS, weightFactor: 0.5 },
  throttle_ip: { kind: 'throttle', durationMs: 30 * MINUTE_MS },
};

export interface ReputationOptions {
  /**
   * Read the classification's action for replies no row names. Off for IP workflow histories
   * recorded before it existed (workflows/ip.ts reads it through patched(), so a running
   * workflow replays the decisions it made; docs/reliability.md).
   */
  readonly byAction?: boolean;
}

/**
 * The reputation rule for a reply from `provider`, or null. The classifier names the reply
 * (its first matching rule, reading `provider` as exact: a Yahoo rule speaks for Yahoo only,
 * not for the "other" roll-up); the table says what that means for the IP, and for a rule it
 * does not name, the classification's action (ACTION_EFFECTS) when `byAction` is set.
 */
export function reputationRuleFor(
  provider: ProviderId,
  reply: NotableReply,
  options: ReputationOptions = {},
): ReputationRule | null {
  const { rule, reply: normalized } = matchReply(
    { code: reply.code, enhanced: reply.enhanced, text: reply.text, provider },
    { exactProvider: true },
  );
  const named = BY_RULE_ID.get(rule.id);
  if (named !== undefined) return named;
  if (options.byAction !== true) return null;
  const action = applyRule(rule, normalized).action;
  const effect = ACTION_EFFECTS[action];
  return effect === undefined ? null : { ruleId: rule.id, effect, note: `classifier action ${action}` };
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

import type { ProviderId } from '../delivery/providers.js';
import { bounceRate, complaintRate, deferralRate, type OutcomeCounts } from './reputation.js';

/**
 * Warmup plans: how much a new (cold) IP may send to each provider on each day of its warmup.
 * Receivers judge an IP they have never seen by its first days, so a new IP starts small and
 * roughly doubles while its outcomes stay clean; once the plan ends the IP is warm and has no
 * caps. The IP workflow owns the day; routing reads the caps (docs/architecture.md, "The
 * routing wing").
 */

export const HOUR_MS = 3_600_000;
/** A warmup day and a usage day in production (ms); tests pass shorter days. */
export const DAY_MS = 86_400_000;

export interface WarmupCap {
  /** Messages per day to the provider, from this IP. */
  readonly daily: number;
  /** Messages per hour to the provider, from this IP: spreads the day's volume. */
  readonly hourly: number;
}

/** Provider → cap; "*" applies to providers without their own line and is required. */
export type WarmupCaps = Readonly<Record<ProviderId, WarmupCap>>;

export interface WarmupStep {
  /** First warmup day (1-based) these caps apply to; they hold until the next step. */
  readonly fromDay: number;
  readonly caps: WarmupCaps;
}

export interface WarmupPlan {
  readonly version: 1;
  readonly name: string;
  /** Ascending by fromDay, the first from day 1. */
  readonly steps: readonly WarmupStep[];
  /** From this day on the IP is warm: no caps. */
  readonly warmFromDay: number;
}

/** The caps line for a provider: its own, else "*". */
export function capFor(caps: WarmupCaps, provider: ProviderId): WarmupCap | null {
  return caps[provider] ?? caps['*'] ?? null;
}

function line(daily: number, hourly: number, otherDaily: number, otherHourly: number): WarmupCaps {
  const big = { daily, hourly };
  return {
    google: big,
    microsoft: big,
    yahoo: big,
    // "other" rolls up every domain without a named provider, many unrelated receivers.
    other: { daily: otherDaily, hourly: otherHourly },
    '*': big,
  };
}

/**
 * Default plan, modelled on published schedules:
 * - Amazon SES: a standard dedicated IP is warmed automatically over about 45 days (SES
 *   Developer Guide, "Warming up dedicated IP addresses").
 * - Twilio SendGrid: the recommended manual schedule starts at 50 messages on day 1 and about
 *   doubles daily; its automated warmup enforces *hourly* limits so a day's volume is spread
 *   ("Warming Up an IP Address", automated IP warmup hourly send schedule).
 * - Mailgun: automatic warmup ramps a dedicated IP over about a month.
 * Day 1 allows 150/day per large mailbox provider, roughly doubling every day or two, then
 * ×2 every 3–4 days; warm from day 31. The hourly cap is about 1/8 of the daily cap, so a
 * day's allowance is spread over at least 8 hours. "other" gets twice the large-provider line
 * because it is many receivers.
 */
export const DEFAULT_WARMUP_PLAN: WarmupPlan = {
  version: 1,
  name: 'default',
  steps: [
    { fromDay: 1, caps: line(150, 20, 300, 40) },
    { fromDay: 2, caps: line(300, 40, 600, 80) },
    { fromDay: 3, caps: line(600, 75, 1_200, 150) },
    { fromDay: 4, caps: line(1_000, 125, 2_000, 250) },
    { fromDay: 5, caps: line(2_000, 250, 4_000, 500) },
    { fromDay: 7, caps: line(4_000, 500, 8_000, 1_000) },
    { fromDay: 9, caps: line(8_000, 1_000, 16_000, 2_000) },
    { fromDay: 11, caps: line(15_000, 2_000, 30_000, 4_000) },
    { fromDay: 14, caps: line(30_000, 4_000, 60_000, 8_000) },
    { fromDay: 17, caps: line(60_000, 7_500, 120_000, 15_000) },
    { fromDay: 21, caps: line(120_000, 15_000, 240_000, 30_000) },
    { fromDay: 25, caps: line(250_000, 30_000, 500_000, 60_000) },
  ],
  warmFromDay: 31,
};

/** The caps on `day` (1-based), or null once warm (day ≥ warmFromDay). */
export function capsForDay(plan: WarmupPlan, day: number): WarmupCaps | null {
  if (day >= plan.warmFromDay) return null;
  let caps: WarmupCaps | null = null;
  for (const step of plan.steps) {
    if (step.fromDay <= day) caps = step.caps;
  }
  // Validation guarantees a step from day 1; day 0 or less reads as day 1.
  return caps ?? plan.steps[0]?.caps ?? null;
}

// ---- day advance ----

/**
 * Health thresholds for moving to the next warmup day, over the IP's windowed outcomes (all
 * providers). Stricter than the reputation rules: a warming IP holds its day at the first sign
 * of trouble.
 * - bounce rate < 5 %: Amazon SES puts an account under review at 5 % (SES Developer Guide).
 * - complaint rate < 0.1 %: Gmail and Yahoo sender requirements (2024) ask for a spam rate
 *   under 0.1 % (support.google.com/a/answer/81126); SES reviews at 0.1 %.
 * - deferral rate < 20 %: ours; receivers defer a new IP they distrust (Yahoo TS0x, Gmail
 *   4.7.28), and ramping through deferrals makes it worse.
 * Rates prove nothing on a handful of messages: under `minVolume` final outcomes, the day counts
 * as healthy.
 */
export const WARMUP_HEALTH = {
  maxBounceRate: 0.05,
  maxComplaintRate: 0.001,
  maxDeferralRate: 0.2,
  minVolume: 100,
} as const;

export type UnhealthyReason = 'bounce_rate' | 'complaint_rate' | 'deferral_rate';

export function unhealthyReasons(c: OutcomeCounts): UnhealthyReason[] {
  if (c.delivered + c.deferred + c.bounced < WARMUP_HEALTH.minVolume) return [];
  const out: UnhealthyReason[] = [];
  if (bounceRate(c) >= WARMUP_HEALTH.maxBounceRate) out.push('bounce_rate');
  if (complaintRate(c) >= WARMUP_HEALTH.maxComplaintRate) out.push('complaint_rate');
  if (deferralRate(c) >= WARMUP_HEALTH.maxDeferralRate) out.push('deferral_rate');
  return out;
}

/** Where a warming IP is in its plan. Plain JSON. */
export interface WarmupState {
  readonly plan: WarmupPlan;
  /** 1-based warmup day. */
  readonly day: number;
  /** When the current day started (ms). */
  readonly dayStartedMs: number;
  /** Length of a warmup day (ms): 86 400 000 in production, seconds in tests. */
  readonly dayMs: number;
  /** Messages tried since the current day started. */
  readonly attemptsThisDay: number;
}

export type WarmupDecision =
  | { readonly kind: 'not_due'; readonly dueMs: number }
  | { readonly kind: 'held'; readonly reasons: readonly (UnhealthyReason | 'no_traffic')[] }
  | { readonly kind: 'advanced'; readonly day: number }
  | { readonly kind: 'warm' };

/**
 * Advances one day when a full day has passed since the current one started, the IP sent
 * something that day (as MailerQ's throttle schedules do: an idle IP earns no reputation), and
 * its windowed rates are healthy; else holds the day and re-checks later. Past the plan's end
 * the IP is warm (state null). One day at most per call: an IP never skips days.
 */
export function nextWarmupDay(
  state: WarmupState,
  windowed: OutcomeCounts,
  nowMs: number,
): { state: WarmupState | null; decision: WarmupDecision } {
  const dueMs = state.dayStartedMs + state.dayMs;
  if (nowMs < dueMs) return { state, decision: { kind: 'not_due', dueMs } };
  const reasons: (UnhealthyReason | 'no_traffic')[] = unhealthyReasons(windowed);
  if (state.attemptsThisDay === 0) reasons.push('no_traffic');
  if (reasons.length > 0) return { state, decision: { kind: 'held', reasons } };
  const day = state.day + 1;
  if (day >= state.plan.warmFromDay) return { state: null, decision: { kind: 'warm' } };
  return {
    state: { ...state, day, dayStartedMs: nowMs, attemptsThisDay: 0 },
    decision: { kind: 'advanced', day },
  };
}

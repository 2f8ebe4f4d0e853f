import { formatDuration } from '../duration.js';
import type { Pause, PauseScope } from '../routing/pauses.js';

/**
 * Trust and safety: when a tenant's (or one sending domain's) hard-bounce or complaint rate
 * over a sliding window passes its threshold, the scope is paused automatically (README,
 * "Trust and safety"). Pure decisions; the node reads the counts and signals the pause.
 */

/** The actor of automatic pauses in the control workflow's history and the `paused` event. */
export const TRUST_AND_SAFETY_ACTOR = 'posthorn:trust-and-safety';

export interface SafetyThresholds {
  /** Hard bounces per sent recipient above which the scope is paused (0.05 = 5 %). */
  readonly hardBounceRate: number;
  /** Complaints per sent recipient above which the scope is paused (0.003 = 0.3 %). */
  readonly complaintRate: number;
  /** Sent recipients a window needs before its rates count: a few bounces of a few sends say nothing. */
  readonly minVolume: number;
  /** Length of the sliding window, ms. */
  readonly windowMs: number;
}

/**
 * Defaults in the spirit of the bulk-sender rules of the large mailbox providers: Gmail and
 * Yahoo ask senders to keep the spam rate reported in Postmaster Tools below 0.3 %
 * (support.google.com/a/answer/81126, senders.yahooinc.com/best-practices), and ESPs put
 * accounts under review at a bounce rate of 5 % (Amazon SES,
 * docs.aws.amazon.com/ses/latest/dg/faqs-enforcement.html) over a day's mail.
 */
export const DEFAULT_SAFETY_THRESHOLDS: SafetyThresholds = {
  hardBounceRate: 0.05,
  complaintRate: 0.003,
  minVolume: 100,
  windowMs: 86_400_000,
};

/** Outcomes in a window: recipients with a final SMTP outcome, hard bounces, complaints. */
export interface OutcomeCounts {
  readonly sent: number;
  readonly hardBounced: number;
  readonly complained: number;
}

export type SafetyMetric = 'hard_bounce' | 'complaint';

export type SafetyVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'too_little_volume' }
  | {
      readonly kind: 'over';
      readonly metric: SafetyMetric;
      readonly count: number;
      readonly sent: number;
      readonly rate: number;
      readonly threshold: number;
    };

/** Whether a window's outcomes pass a threshold; complaints are judged first (the stricter rule). */
export function judgeWindow(c: OutcomeCounts, t: SafetyThresholds): SafetyVerdict {
  if (c.sent < t.minVolume || c.sent === 0) return { kind: 'too_little_volume' };
  const checks: [SafetyMetric, number, number][] = [
    ['complaint', c.complained, t.complaintRate],
    ['hard_bounce', c.hardBounced, t.hardBounceRate],
  ];
  for (const [metric, count, threshold] of checks) {
    const rate = count / c.sent;
    if (rate > threshold) return { kind: 'over', metric, count, sent: c.sent, rate, threshold };
  }
  return { kind: 'ok' };
}

const percent = (x: number) => `${Number((x * 100).toFixed(2))}%`;

/** The reason an automatic pause records, e.g. "hard-bounce rate 12% (…) is over 5%". */
export function pauseReason(v: Extract<SafetyVerdict, { kind: 'over' }>, windowMs: number): string {
  const what = v.metric === 'hard_bounce' ? 'hard-bounce' : 'complaint';
  const plural = v.metric === 'hard_bounce' ? 'hard bounces' : 'complaints';
  return `${what} rate ${percent(v.rate)} (${v.count} ${plural} of ${v.sent} sent in the last ${formatDuration(windowMs)}) is over ${percent(v.threshold)}`;
}

/** One (tenant, sending domain)'s outcomes in its window. */
export interface DomainWindow {
  readonly tenantId: string;
  readonly tenant: string;
  readonly sendingDomain: string;
  readonly counts: OutcomeCounts;
}

export interface AutoPause {
  readonly tenantId: string;
  readonly scope: Extract<PauseScope, 'tenant' | 'sending_domain'>;
  /** The tenant's name or the sending domain, as pauses name them. */
  readonly value: string;
  readonly reason: string;
}

const add = (a: OutcomeCounts, b: OutcomeCounts): OutcomeCounts => ({
  sent: a.sent + b.sent,
  hardBounced: a.hardBounced + b.hardBounced,
  complained: a.complained + b.complained,
});

/**
 * The pauses to make now. A tenant whose outcomes over all its domains pass a threshold is
 * paused as a whole; otherwise each of its domains that passes one is paused alone. Scopes
 * already paused (by anyone) are left as they are.
 */
export function decideAutoPauses(
  windows: readonly DomainWindow[],
  t: SafetyThresholds,
  isPaused: (scope: 'tenant' | 'sending_domain', value: string) => boolean,
): AutoPause[] {
  const byTenant = new Map<string, DomainWindow[]>();
  for (const w of windows) byTenant.set(w.tenantId, [...(byTenant.get(w.tenantId) ?? []), w]);
  const out: AutoPause[] = [];
  for (const [tenantId, domains] of byTenant) {
    const tenant = domains[0]!.tenant;
    if (isPaused('tenant', tenant)) continue;
    const total = domains.reduce((sum, d) => add(sum, d.counts), { sent: 0, hardBounced: 0, complained: 0 });
    const whole = judgeWindow(total, t);
    if (whole.kind === 'over') {
      out.push({ tenantId, scope: 'tenant', value: tenant, reason: pauseReason(whole, t.windowMs) });
      continue;
    }
    for (const d of domains) {
      if (isPaused('sending_domain', d.sendingDomain)) continue;
      const v = judgeWindow(d.counts, t);
      if (v.kind === 'over')
        out.push({
          tenantId,
          scope: 'sending_domain',
          value: d.sendingDomain,
          reason: pauseReason(v, t.windowMs),
        });
    }
  }
  return out;
}

/**
 * The automatic pause that makes the API refuse a tenant's new mail from this domain, if
 * any (in force at `nowMs`). Operator pauses hold delivery but leave acceptance alone.
 */
export function refusingPause(
  pauses: readonly Pause[],
  tenant: string,
  sendingDomain: string,
  nowMs: number,
): Pause | null {
  const t = tenant.toLowerCase();
  const d = sendingDomain.toLowerCase();
  return (
    pauses.find(
      (p) =>
        p.actor === TRUST_AND_SAFETY_ACTOR &&
        (p.untilMs === null || p.untilMs > nowMs) &&
        ((p.scope === 'tenant' && p.value.toLowerCase() === t) ||
          (p.scope === 'sending_domain' && p.value.toLowerCase() === d)),
    ) ?? null
  );
}

/**
 * The sending ramp of a new tenant: a daily cap that starts small and doubles after each day
 * whose volume was real and clean, up to a ceiling, where the ramp ends. Mailbox providers
 * judge a new sender by its first weeks; a tenant that starts with a purchased list fails
 * at a few hundred messages, not at a million (docs/operations.md, "Trust and safety").
 */
export interface RampPolicy {
  /** The first day's cap, recipients. */
  readonly startPerDay: number;
  /** Where the ramp ends: once the cap would reach this, only the quotas apply. */
  readonly maxPerDay: number;
  /** The trust-and-safety thresholds; a clean day stays under half of each. */
  readonly hardBounceRate: number;
  readonly complaintRate: number;
}

/** One UTC day of a ramping tenant: recipients accepted, and outcomes of its mail that day. */
export interface RampDay {
  readonly accepted: number;
  readonly sent: number;
  readonly hardBounced: number;
  readonly complained: number;
}

export type RampStep =
  | { readonly kind: 'grow'; readonly cap: number }
  | { readonly kind: 'done' }
  | { readonly kind: 'hold'; readonly why: 'little_volume' | 'bounces' | 'complaints' };

/**
 * What the day after `day` brings to a cap of `cap`. The cap doubles when the day had
 * outcomes for at least half of the cap (volume the tenant really sent, not just asked for)
 * and its hard-bounce and complaint rates stayed under half their thresholds; at the policy's
 * maximum the ramp is done. Any other day keeps the cap.
 */
export function nextRampStep(cap: number, day: RampDay, policy: RampPolicy): RampStep {
  if (day.sent === 0 || day.sent < Math.ceil(cap / 2)) return { kind: 'hold', why: 'little_volume' };
  if (day.complained / day.sent >= policy.complaintRate / 2) return { kind: 'hold', why: 'complaints' };
  if (day.hardBounced / day.sent >= policy.hardBounceRate / 2) return { kind: 'hold', why: 'bounces' };
  const next = Math.max(1, cap) * 2;
  return next >= policy.maxPerDay ? { kind: 'done' } : { kind: 'grow', cap: next };
}

import type { IpRouteState, ProviderId } from './ip-actor-types.js';
import { capFor, DAY_MS, HOUR_MS } from './warmup.js';

/**
 * IP selection within a pool (docs/architecture.md, "The routing wing"): a weighted choice
 * among the IPs that may send to the destination's provider now, sticky to the IP a message
 * used before. A message that no IP can take waits (a deferral with a reason); it is never
 * bounced for it.
 */

/** Share of its weight a throttled IP keeps for that provider: others take most of the traffic. */
export const THROTTLED_WEIGHT_FACTOR = 0.25;
/** Wait when nothing will change by the clock alone (an indefinite pause, weight 0). */
export const FALLBACK_WAIT_MS = 15 * 60_000;
/** Never ask to wait less than this: publishing lags and route state is re-read. */
export const MIN_WAIT_MS = 1_000;

/**
 * Messages this IP sent to the provider in the current usage periods: the day and hour
 * periods are epoch-aligned (see usagePeriodStart), the same periods ip_usage counts in.
 */
export interface IpUsage {
  readonly today: number;
  readonly thisHour: number;
}

export interface RouteCandidate {
  readonly ip: string;
  readonly route: IpRouteState;
  readonly usage: IpUsage;
}

export interface ChooseIpInput {
  readonly candidates: readonly RouteCandidate[];
  readonly provider: ProviderId;
  /** The IP of the message's previous attempt: kept when still eligible (greylisting). */
  readonly preferredIp: string | null;
  readonly nowMs: number;
  /** Uniform in [0, 1), injected to keep this pure (a seeded one in tests). */
  readonly random: () => number;
  /** For the wait reason. */
  readonly pool?: string;
  /** Usage period lengths (ms); shorter in tests. */
  readonly dayMs?: number;
  readonly hourMs?: number;
}

/**
 * `overflow`: the message's first choice was a warming IP at its warmup cap for this provider
 * (the sticky IP, or the weighted draw over every IP that would be eligible but for caps) and
 * another eligible IP took it. Drawing over capped IPs first and redrawing among the eligible
 * leaves the final distribution exactly proportional to the eligible weights, and makes
 * `overflow` count the traffic the capped IPs would have carried.
 */
export type IpChoice =
  | { readonly kind: 'ip'; readonly ip: string; readonly overflow: boolean }
  | {
      readonly kind: 'wait';
      readonly reason: string;
      /** Delay (ms) until the soonest change that could make an IP eligible. */
      readonly retryAfterMs: number;
      /** That moment (ms), or null when only an operator or a new route state can change it. */
      readonly retryAtMs: number | null;
    };

/** Start of the epoch-aligned period holding `nowMs` (ms). */
export function usagePeriodStart(nowMs: number, periodMs: number): number {
  return Math.floor(nowMs / periodMs) * periodMs;
}

type Block =
  | { readonly kind: 'paused'; readonly untilMs: number | null; readonly reason: string }
  | { readonly kind: 'suspended'; readonly untilMs: number | null; readonly reason: string }
  | { readonly kind: 'no_weight' }
  | { readonly kind: 'daily_cap'; readonly cap: number; readonly untilMs: number }
  | { readonly kind: 'hourly_cap'; readonly cap: number; readonly untilMs: number };

interface Assessment {
  readonly candidate: RouteCandidate;
  /** Effective weight for this provider. */
  readonly weight: number;
  readonly blocks: readonly Block[];
}

function active(untilMs: number | null, nowMs: number): boolean {
  return untilMs === null || untilMs > nowMs;
}

/** Why a candidate may not take this message now (empty: eligible), and its weight. */
export function assess(
  c: RouteCandidate,
  provider: ProviderId,
  nowMs: number,
  dayMs = DAY_MS,
  hourMs = HOUR_MS,
): Assessment {
  const r = c.route;
  const blocks: Block[] = [];
  if (r.paused && active(r.paused.untilMs, nowMs)) blocks.push({ kind: 'paused', ...r.paused });
  const s = r.suspended[provider];
  if (s && active(s.untilMs, nowMs)) blocks.push({ kind: 'suspended', ...s });
  const t = r.throttled?.[provider];
  const weight =
    r.weight * (r.weightFactors?.[provider] ?? 1) * (t && t.untilMs > nowMs ? THROTTLED_WEIGHT_FACTOR : 1);
  if (!(weight > 0)) blocks.push({ kind: 'no_weight' });
  const cap = r.caps ? capFor(r.caps, provider) : null;
  if (cap) {
    if (c.usage.today >= cap.daily) {
      blocks.push({ kind: 'daily_cap', cap: cap.daily, untilMs: usagePeriodStart(nowMs, dayMs) + dayMs });
    }
    if (c.usage.thisHour >= cap.hourly) {
      blocks.push({ kind: 'hourly_cap', cap: cap.hourly, untilMs: usagePeriodStart(nowMs, hourMs) + hourMs });
    }
  }
  return { candidate: c, weight, blocks };
}

function isCap(b: Block): boolean {
  return b.kind === 'daily_cap' || b.kind === 'hourly_cap';
}

function weightedPick(items: readonly Assessment[], random: () => number): Assessment {
  const total = items.reduce((sum, a) => sum + a.weight, 0);
  let r = random() * total;
  for (const a of items) {
    r -= a.weight;
    if (r < 0) return a;
  }
  return items[items.length - 1]!;
}

export function chooseIp(input: ChooseIpInput): IpChoice {
  const { provider, nowMs, random } = input;
  const all = input.candidates.map((c) => assess(c, provider, nowMs, input.dayMs, input.hourMs));
  const eligible = all.filter((a) => a.blocks.length === 0);
  const cappedOnly = all.filter((a) => a.blocks.length > 0 && a.blocks.every(isCap));

  const preferred = all.find((a) => a.candidate.ip === input.preferredIp);
  if (preferred && preferred.blocks.length === 0)
    return { kind: 'ip', ip: preferred.candidate.ip, overflow: false };
  if (eligible.length === 0) return waitFor(all, input);
  if (preferred && cappedOnly.includes(preferred)) {
    return { kind: 'ip', ip: weightedPick(eligible, random).candidate.ip, overflow: true };
  }
  const first = weightedPick([...eligible, ...cappedOnly], random);
  if (first.blocks.length === 0) return { kind: 'ip', ip: first.candidate.ip, overflow: false };
  return { kind: 'ip', ip: weightedPick(eligible, random).candidate.ip, overflow: true };
}

/** When a candidate could take the message again: every block must have lifted. */
function readyAtMs(a: Assessment): number {
  let at = Number.NEGATIVE_INFINITY;
  for (const b of a.blocks) {
    const until = b.kind === 'no_weight' ? null : b.untilMs;
    at = Math.max(at, until ?? Number.POSITIVE_INFINITY);
  }
  return at;
}

function iso(ms: number | null): string {
  return ms === null ? 'resumed' : new Date(ms).toISOString();
}

function describeBlock(b: Block, provider: ProviderId): string {
  switch (b.kind) {
    case 'paused':
      return `paused until ${iso(b.untilMs)} (${b.reason})`;
    case 'suspended':
      return `suspended for ${provider} until ${iso(b.untilMs)} (${b.reason})`;
    case 'no_weight':
      return 'weight 0';
    case 'daily_cap':
      return `at its warmup cap of ${b.cap}/day for ${provider} until ${iso(b.untilMs)}`;
    case 'hourly_cap':
      return `at its warmup cap of ${b.cap}/h for ${provider} until ${iso(b.untilMs)}`;
  }
}

const MAX_LISTED = 5;

function waitFor(all: readonly Assessment[], input: ChooseIpInput): IpChoice {
  const scope = input.pool === undefined ? 'the pool' : `pool ${input.pool}`;
  if (all.length === 0) {
    return {
      kind: 'wait',
      reason: `${scope} has no IPs`,
      retryAfterMs: FALLBACK_WAIT_MS,
      retryAtMs: null,
    };
  }
  const soonest = Math.min(...all.map(readyAtMs));
  const retryAtMs = Number.isFinite(soonest) ? Math.max(soonest, input.nowMs + MIN_WAIT_MS) : null;
  const listed = all
    .slice(0, MAX_LISTED)
    .map((a) => `${a.candidate.ip} ${a.blocks.map((b) => describeBlock(b, input.provider)).join(', ')}`);
  if (all.length > MAX_LISTED) listed.push(`and ${all.length - MAX_LISTED} more`);
  const next =
    retryAtMs === null ? 'no change expected until an operator acts' : `next change at ${iso(retryAtMs)}`;
  return {
    kind: 'wait',
    reason: `all IPs of ${scope} are unavailable for ${input.provider}: ${listed.join('; ')}; ${next}`,
    retryAfterMs: retryAtMs === null ? FALLBACK_WAIT_MS : retryAtMs - input.nowMs,
    retryAtMs,
  };
}

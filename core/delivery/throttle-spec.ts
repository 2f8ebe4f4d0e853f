import { z } from 'zod';

/**
 * Rate specs such as `100/min`, `100/min,burst=10`, `5/s`, `2000/h`, `10/d` or `30/10min`,
 * and the GCRA (generic cell rate algorithm) that enforces them.
 *
 * A spec is `<count>/<period>[,burst=<n>]`: at most `count` messages (or connections) per
 * `period` at steady state, and up to `burst` of them back to back after a quiet spell.
 * The period is an optional whole multiplier and a unit: ms, s (sec, second), min (minute),
 * h (hr, hour), d (day); "m" is refused as ambiguous (minute or month).
 *
 * GCRA is the virtual scheduling algorithm of ITU-T I.371 (ATM traffic contracts), the one
 * redis-cell and KumoMTA throttles use. It keeps one number per limited thing, the theoretical
 * arrival time TAT, with
 *   T = periodMs / count    emission interval: the steady spacing between two cells, ms
 *   τ = (burst − 1) · T     tolerance: how early a cell may arrive relative to TAT, ms
 * A cell arriving at t conforms when t ≥ TAT − τ; it then moves TAT to max(TAT, t) + T.
 * A non-conforming cell leaves TAT alone and may try again after TAT − τ − t ms.
 *
 * So `burst` is the bucket size: how many cells pass at once from a cold start. burst=1 (the
 * default) means no burst at all: cells are spaced T apart, and any window of one period
 * admits exactly `count`. Note redis-cell's `max_burst` counts the cells *beyond* the first
 * (its max_burst = our burst − 1), and KumoMTA's default burst is the whole count; ours is
 * the strictest, because receivers (Gmail, Yahoo, Microsoft) count connections and messages
 * in short windows.
 */
export interface ThrottleSpec {
  /** Cells allowed per period at steady state; a positive integer. */
  readonly count: number;
  /** Length of the period, ms; a positive integer. */
  readonly periodMs: number;
  /** Cells that may pass back to back; a positive integer, 1 = no burst. */
  readonly burst: number;
}

export type ThrottleSpecParse = { ok: true; spec: ThrottleSpec } | { ok: false; error: string };

/** GCRA state: plain JSON so it can be logged, compared and persisted. */
export interface GcraState {
  /** Theoretical arrival time, ms on the caller's clock. */
  readonly tat: number;
}

export type GcraDecision =
  | { allowed: true; state: GcraState }
  | { allowed: false; retryAfterMs: number; state: GcraState };

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

/** Canonical units, largest first: the formatter picks the largest that divides the period. */
const CANONICAL: readonly (readonly [string, number])[] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
  ['ms', 1],
];

const RATE = /^(\d+)\s*\/\s*(\d*)\s*([a-z]+)$/;
const OPTION = /^([a-z_]+)\s*=\s*(\d+)$/;

function positiveInt(digits: string): number | null {
  const n = Number(digits);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export function parseThrottleSpec(text: string): ThrottleSpecParse {
  const bad = (why: string): ThrottleSpecParse => ({
    ok: false,
    error: `"${text}" is not a rate like 100/min or 100/min,burst=10: ${why}`,
  });
  const [rate, ...options] = text.trim().toLowerCase().split(',');
  const m = RATE.exec(rate!.trim());
  if (!m) return bad('expected <count>/<period>');
  const count = positiveInt(m[1]!);
  if (count === null) return bad('the count must be a whole number above 0');
  const multiplier = m[2] === '' ? 1 : positiveInt(m[2]!);
  if (multiplier === null) return bad('the period multiplier must be a whole number above 0');
  const unitMs = UNITS[m[3]!];
  if (unitMs === undefined) return bad(`unknown unit "${m[3]}" (use ms, s, min, h or d)`);
  const periodMs = multiplier * unitMs;
  if (!Number.isSafeInteger(periodMs)) return bad('the period is too long');
  let burst = 1;
  const seen = new Set<string>();
  for (const option of options) {
    const o = OPTION.exec(option.trim());
    if (!o) return bad(`"${option.trim()}" is not an option like burst=10`);
    if (o[1] !== 'burst') return bad(`unknown option "${o[1]}" (only burst=<n>)`);
    if (seen.has(o[1])) return bad('burst is given twice');
    seen.add(o[1]);
    const b = positiveInt(o[2]!);
    if (b === null) return bad('burst must be a whole number above 0');
    burst = b;
  }
  return { ok: true, spec: { count, periodMs, burst } };
}

/**
 * The canonical spelling: the largest unit that divides the period exactly, no multiplier of
 * 1, no `burst=1`. Lossless: parseThrottleSpec(formatThrottleSpec(s)) deep-equals s for any
 * valid spec (positive integers), and formatThrottleSpec(parse(text)) is the canonical text.
 */
export function formatThrottleSpec(spec: ThrottleSpec): string {
  const [unit, size] = CANONICAL.find(([, size]) => spec.periodMs % size === 0)!;
  const multiplier = spec.periodMs / size;
  const rate = `${spec.count}/${multiplier === 1 ? '' : multiplier}${unit}`;
  return spec.burst === 1 ? rate : `${rate},burst=${spec.burst}`;
}

/** Emission interval T, ms (fractional: 100/min is 600 ms, 3/s is 333.33… ms). */
export function emissionIntervalMs(spec: ThrottleSpec): number {
  return spec.periodMs / spec.count;
}

/** Tolerance τ = (burst − 1) · T, ms. */
function toleranceMs(spec: ThrottleSpec): number {
  return (spec.burst - 1) * emissionIntervalMs(spec);
}

/**
 * One GCRA decision at `nowMs` (virtual scheduling, ITU-T I.371 Annex A). A null state is a
 * thing never seen before: its first cell conforms. On refusal the returned state is the
 * input state (a refused cell does not consume budget) and `retryAfterMs` > 0 is when the
 * same request would conform.
 */
export function gcraTake(state: GcraState | null, spec: ThrottleSpec, nowMs: number): GcraDecision {
  const tat = Math.max(state?.tat ?? nowMs, nowMs);
  const earliest = tat - toleranceMs(spec);
  if (nowMs < earliest) {
    return { allowed: false, retryAfterMs: earliest - nowMs, state: state ?? { tat } };
  }
  return { allowed: true, state: { tat: tat + emissionIntervalMs(spec) } };
}

/**
 * How long until the cell after `ahead` others (all taken in turn, none refused) conforms,
 * ms; 0 when it would conform now. Used to answer "throttled, retry after T" without
 * queueing: the ahead-th cell conforms at max(TAT, now) + ahead·T − τ.
 */
export function gcraWaitMs(
  state: GcraState | null,
  spec: ThrottleSpec,
  nowMs: number,
  ahead: number,
): number {
  const tat = Math.max(state?.tat ?? nowMs, nowMs);
  return Math.max(0, tat + ahead * emissionIntervalMs(spec) - toleranceMs(spec) - nowMs);
}

/**
 * A rate as written in config: a spec ("100/min,burst=10"), or a word that means no limit
 * ("unlimited", "off") or a JSON null → null.
 */
export const optionalThrottleSpecSchema = z
  .union([z.null(), z.string()])
  .transform((text, ctx): ThrottleSpec | null => {
    if (text === null || ['unlimited', 'off'].includes(text.trim().toLowerCase())) return null;
    const parsed = parseThrottleSpec(text);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed.spec;
  });

import type { EgressLimits } from './egress-limits.js';
import type { ThrottleSpec } from './throttle-spec.js';

/**
 * Adaptive concurrency and rate for one ready queue (source IP × site), AIMD as in TCP
 * congestion avoidance (RFC 5681 §3.1): when the receiver says "too many connections" or
 * "slow down", the queue's connection limit and message rate are halved; every window of
 * successful transactions (as many as the current connection limit) gives one connection
 * back and an eighth of the configured rate, never past the configured EgressLimits. Pure:
 * the dispatcher keeps one state per queue and asks this module for its limits.
 *
 * One decrease per window, as TCP reduces once per window of data (RFC 5681 §3.1): the
 * sessions that were already open under the old limit all hear the same refusal, and ten of
 * them must not halve the limit ten times. Each decrease starts a new epoch; a lease
 * granted in an older epoch reports its congestion, but the limit does not move again.
 */

/** Factor on the connection limit and the rate at each decrease. */
export const AIMD_DECREASE = 0.5;
/** Share of the configured rate given back per window of successes. */
export const AIMD_RATE_STEP = 0.125;
/** The rate never goes below this share of the configured rate. */
export const AIMD_MIN_RATE_FACTOR = 1 / 64;
/**
 * A reduced state with no congestion and no traffic for this long is forgotten, ms: the
 * receiver's count of our connections has long reset (Postfix forgets a dead destination
 * after minutes too).
 */
export const AIMD_FORGET_MS = 10 * 60_000;

export interface AimdState {
  /** Connections allowed now, 1 ≤ concurrency ≤ limits.maxConnections; an integer. */
  readonly concurrency: number;
  /** Share of the configured message and connection rate allowed now, (0, 1]. */
  readonly rateFactor: number;
  /** Bumped at each decrease; a lease remembers the epoch it was granted in. */
  readonly epoch: number;
  /** Successes counted towards the next increase. */
  readonly successes: number;
  /** Decreases so far (for the operator's view). */
  readonly decreases: number;
  /** The last decrease, ms; null before any. */
  readonly lastDecreaseMs: number | null;
  /** The last change or success, ms. */
  readonly touchedMs: number;
}

export function aimdStart(limits: EgressLimits, nowMs: number): AimdState {
  return {
    concurrency: limits.maxConnections,
    rateFactor: 1,
    epoch: 0,
    successes: 0,
    decreases: 0,
    lastDecreaseMs: null,
    touchedMs: nowMs,
  };
}

/** The receiver refused for load: halve, unless this lease was granted before the last decrease. */
export function aimdCongested(
  state: AimdState,
  limits: EgressLimits,
  leaseEpoch: number,
  nowMs: number,
): AimdState {
  if (leaseEpoch < state.epoch) return { ...state, touchedMs: nowMs };
  const current = Math.min(state.concurrency, limits.maxConnections);
  return {
    concurrency: Math.max(1, Math.floor(current * AIMD_DECREASE)),
    rateFactor: Math.max(AIMD_MIN_RATE_FACTOR, state.rateFactor * AIMD_DECREASE),
    epoch: state.epoch + 1,
    successes: 0,
    decreases: state.decreases + 1,
    lastDecreaseMs: nowMs,
    touchedMs: nowMs,
  };
}

/** A transaction went through: one step back up per window of successes. */
export function aimdSucceeded(state: AimdState, limits: EgressLimits, nowMs: number): AimdState {
  const current = Math.min(state.concurrency, limits.maxConnections);
  const successes = state.successes + 1;
  if (successes < current) return { ...state, concurrency: current, successes, touchedMs: nowMs };
  return {
    ...state,
    concurrency: Math.min(limits.maxConnections, current + 1),
    rateFactor: Math.min(1, state.rateFactor + AIMD_RATE_STEP),
    successes: 0,
    touchedMs: nowMs,
  };
}

/** Back at the configured limits: the state says nothing the limits do not. */
export function aimdRecovered(state: AimdState, limits: EgressLimits): boolean {
  return state.concurrency >= limits.maxConnections && state.rateFactor >= 1;
}

/** Reduced long ago and untouched since: forget it. */
export function aimdStale(state: AimdState, nowMs: number): boolean {
  return nowMs - state.touchedMs >= AIMD_FORGET_MS;
}

function scaled(spec: ThrottleSpec | null, factor: number): ThrottleSpec | null {
  if (!spec || factor >= 1) return spec;
  // Fewer cells in the same period; the burst shrinks with it, never below one cell.
  return {
    count: Math.max(1, Math.floor(spec.count * factor)),
    periodMs: spec.periodMs,
    burst: Math.max(1, Math.floor(spec.burst * factor)),
  };
}

/**
 * The limits the queue runs under now: the configured ones with the connection limit and
 * the rates lowered by the state. A queue without a configured rate has only its connection
 * limit to lower: there is no rate to take a share of.
 */
export function aimdLimits(state: AimdState | undefined, limits: EgressLimits): EgressLimits {
  if (!state) return limits;
  return {
    ...limits,
    maxConnections: Math.max(1, Math.min(limits.maxConnections, state.concurrency)),
    messageRate: scaled(limits.messageRate, state.rateFactor),
    connectionRate: scaled(limits.connectionRate, state.rateFactor),
  };
}

/**
 * When to try a deferred recipient again. Pure: the caller passes the attempt number and
 * the message's age. Defaults follow Postfix (minimal_backoff_time 300s, doubling,
 * maximal_backoff_time 4000s, maximal_queue_lifetime 5d) and KumoMTA (retry_interval 20m,
 * max_retry_interval, max_age 7d), tightened to a 3-day lifetime, under the 4–5 days
 * RFC 5321 §4.5.4.1 suggests (POSTHORN_RETRY_MAX_AGE; docs/operations.md, "Runbook: a
 * provider outage").
 */
export interface RetrySchedule {
  /** Delay before the first retry, ms. */
  readonly initialMs: number;
  /** Each further delay is the previous one times this factor. */
  readonly factor: number;
  /** No delay is longer than this, ms. */
  readonly maxDelayMs: number;
  /** A recipient still deferred this long after acceptance is given up on (`expired`), ms. */
  readonly maxAgeMs: number;
  /**
   * Delay after a greylisting deferral, ms, whatever the attempt number: a greylister
   * (RFC 6647 §2.1) accepts the same triplet once its delay has passed, so backing off
   * further only delays the mail. postgrey's default delay is 300 s.
   */
  readonly greylistMs: number;
  /**
   * How long a delivery waits on its node's egress queue before any node may take it, ms: a
   * node that died or was taken out must not hold its messages (docs/reliability.md). Absent
   * in schedules of workflows started before it existed: DEFAULT_RETRY_SCHEDULE's.
   */
  readonly pickupMs?: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  initialMs: 5 * 60_000,
  factor: 2,
  maxDelayMs: 4 * 3_600_000,
  maxAgeMs: 3 * 86_400_000,
  greylistMs: 5 * 60_000,
  pickupMs: 2 * 60_000,
};

export type RetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'expire' };

/**
 * @param attempt the attempt that just failed, 1-based.
 * @param ageMs time since the message was accepted, ms.
 * @param hintMs a wait the remote asked for ("try again in 10 minutes"), ms, if any.
 * @param greylisted the deferral was greylisting, which wants a prompt retry.
 */
export function nextRetry(
  schedule: RetrySchedule,
  attempt: number,
  ageMs: number,
  hintMs?: number,
  greylisted = false,
): RetryDecision {
  const exponential = schedule.initialMs * schedule.factor ** Math.max(0, attempt - 1);
  let delayMs = greylisted ? schedule.greylistMs : Math.min(schedule.maxDelayMs, exponential);
  // A server's own hint is honoured even past our cap: retrying earlier only earns
  // another deferral (RFC 5321 §4.5.4.1 leaves the interval to the sender).
  if (hintMs !== undefined && hintMs > delayMs) delayMs = hintMs;
  if (ageMs + delayMs > schedule.maxAgeMs) {
    // One last try exactly at the deadline, unless we are already there.
    const left = schedule.maxAgeMs - ageMs;
    return left > 0 && left < delayMs && hintMs === undefined
      ? { kind: 'retry', delayMs: left }
      : { kind: 'expire' };
  }
  return { kind: 'retry', delayMs };
}

/**
 * The decision after an attempt that left recipients deferred: the longest wait any of
 * them was asked for, and the greylisting delay only when every one was greylisted.
 */
export function afterDeferral(
  schedule: RetrySchedule,
  attempt: number,
  ageMs: number,
  deferred: readonly { readonly retryHintMs: number | null; readonly category: string | null }[],
): RetryDecision {
  const hints = deferred.map((r) => r.retryHintMs).filter((h): h is number => h !== null);
  const hint = hints.length > 0 ? Math.max(...hints) : undefined;
  const greylisted = deferred.every((r) => r.category === 'greylisted');
  return nextRetry(schedule, attempt, ageMs, hint, greylisted);
}

/**
 * Resend's webhook retry schedule (Resend docs, webhooks: retries and replays, which is
 * Svix's): attempts immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after
 * the previous failure. Delays in ms, indexed by the number of attempts already made.
 */
export const WEBHOOK_RETRY_DELAYS_MS = [
  0,
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
] as const;

export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_DELAYS_MS.length;

/** The longest wait a receiver's Retry-After may ask for (the schedule's longest step), ms. */
export const MAX_RETRY_AFTER_MS = 10 * 3_600_000;

/**
 * How long to wait after `attemptsMade` failed attempts, ms; null when the schedule has run
 * out. `scale` shortens the schedule (tests: 0.001 turns 5 min into 300 ms). A Retry-After
 * the receiver sent (RFC 9110 §10.2.3) lengthens the wait, never shortens it.
 */
export function webhookRetryDelay(
  attemptsMade: number,
  scale: number,
  retryAfterMs: number | null,
): number | null {
  if (attemptsMade >= WEBHOOK_MAX_ATTEMPTS) return null;
  const scheduled = Math.round(WEBHOOK_RETRY_DELAYS_MS[Math.max(0, attemptsMade)]! * scale);
  if (retryAfterMs === null) return scheduled;
  return Math.max(scheduled, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), ms from `nowMs`; null if absent or bad. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP-date names its day and month ("Sun, 06 Nov 1994 08:49:37 GMT").
  const at = /[a-z]{3}/i.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

/** An endpoint that has failed every attempt since `failingSinceMs` for `disableAfterMs` gets disabled (Svix: 5 days). */
export function shouldDisable(failingSinceMs: number | null, nowMs: number, disableAfterMs: number): boolean {
  return failingSinceMs !== null && nowMs - failingSinceMs >= disableAfterMs;
}

import * as chrono from 'chrono-node';

/**
 * `scheduled_at` as Resend takes it (resend.com/docs/dashboard/emails/schedule-email): an
 * ISO 8601 date-time, or natural language such as "in 1 min", "tomorrow at 9am" or
 * "Friday at 3pm ET". Natural language is read by chrono-node, relative to `nowMs`, in UTC
 * unless the text names a zone, and always forward ("Friday" is the next one).
 */
export type ScheduleParse = { ok: true; atMs: number } | { ok: false; message: string };

// ISO 8601 / RFC 3339 §5.6 date-time, and nothing after it: Date.parse alone would read
// "2026-08-05T11:52:01Z garbage" as a date.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
const LOOKS_ISO = /^\d{4}-\d{2}-\d{2}/;

// Resend's scheduling horizon is 30 days (resend.com/docs/dashboard/emails/schedule-email).
export const MAX_SCHEDULE_MS = 30 * 86_400_000;

const UNREADABLE =
  'use an ISO 8601 date-time such as 2026-08-05T11:52:01.858Z, or a phrase such as "in 1 hour" or "tomorrow at 9am".';

export function parseScheduledAt(value: string, nowMs: number): ScheduleParse {
  const text = value.trim();
  if (DATE_TIME.test(text)) {
    const at = Date.parse(text);
    return Number.isNaN(at) ? { ok: false, message: UNREADABLE } : { ok: true, atMs: at };
  }
  // A date-time with a typo or trailing words is a mistake, not a phrase to guess at.
  if (LOOKS_ISO.test(text)) return { ok: false, message: UNREADABLE };
  const results = chrono.parse(text, { instant: new Date(nowMs), timezone: 'UTC' }, { forwardDate: true });
  // The phrase must be read whole: "in 1 min, or never" is not "in 1 min".
  const only = results.length === 1 ? results[0] : undefined;
  if (only?.index !== 0 || only.text.length !== text.length) return { ok: false, message: UNREADABLE };
  return { ok: true, atMs: only.start.date().getTime() };
}

/**
 * The delay before the first attempt, ms: 0 for a time now or past (sent at once, as
 * Resend does), an error beyond the 30-day horizon.
 */
export function scheduleDelay(
  value: string,
  nowMs: number,
): { ok: true; delayMs: number } | { ok: false; message: string } {
  const parsed = parseScheduledAt(value, nowMs);
  if (!parsed.ok) return parsed;
  const delay = parsed.atMs - nowMs;
  if (delay > MAX_SCHEDULE_MS) return { ok: false, message: 'must be at most 30 days ahead.' };
  return { ok: true, delayMs: Math.max(0, delay) };
}

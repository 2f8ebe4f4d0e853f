/**
 * What retention keeps (docs/operations.md, "Retention"): the delivery log by whole UTC
 * days, so a day goes when all of it is older than the retention period.
 */

const DAY_MS = 86_400_000;

/** A day partition's name suffix, YYYYMMDD, for the UTC day holding `ms`. */
export function dayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

/** Start of the UTC day a YYYYMMDD key names, ms; null for anything else. */
export function dayStartMs(key: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(key);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return dayKey(ms) === key ? ms : null;
}

/** The days whose partitions should exist: today and the next `ahead` days (UTC). */
export function daysAhead(nowMs: number, ahead: number): string[] {
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  return Array.from({ length: ahead + 1 }, (_, i) => dayKey(today + i * DAY_MS));
}

/** Of the days given, those wholly older than `retentionMs` before now: their end has passed the cutoff. */
export function daysPastRetention(days: readonly string[], nowMs: number, retentionMs: number): string[] {
  const cutoff = nowMs - retentionMs;
  return days.filter((d) => {
    const start = dayStartMs(d);
    return start !== null && start + DAY_MS <= cutoff;
  });
}

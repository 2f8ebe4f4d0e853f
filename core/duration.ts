import { z } from 'zod';

/** Durations written like "90s", "5m", "4h", "3d", "250ms" (config and CLI), in milliseconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

export type DurationParse = { ok: true; ms: number } | { ok: false; error: string };

export function parseDuration(text: string): DurationParse {
  const m = DURATION.exec(text.trim());
  if (!m) return { ok: false, error: `"${text}" is not a duration like 250ms, 30s, 5m, 4h or 3d` };
  return { ok: true, ms: Math.round(Number(m[1]) * UNIT_MS[m[2]!]!) };
}

/** The shortest exact spelling of a duration in ms, e.g. 300000 → "5m". */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A duration as written in config ("30s", "4h") → ms, with parseDuration's message on error. */
export const durationSchema = z.string().transform((text, ctx) => {
  const d = parseDuration(text);
  if (!d.ok) {
    ctx.addIssue({ code: 'custom', message: d.error });
    return z.NEVER;
  }
  return d.ms;
});

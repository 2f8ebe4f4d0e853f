import { z } from 'zod';
import { durationSchema } from '../core/duration.js';
import { DEFAULT_SAFETY_THRESHOLDS } from '../core/limits/safety.js';

/** A quota in recipients: a whole number, or "unlimited" / "off". */
export const quotaSchema = z.union([z.number(), z.string()]).transform((v, ctx): number | null => {
  if (typeof v === 'string' && ['unlimited', 'off'].includes(v.trim().toLowerCase())) return null;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a whole number of recipients or "unlimited"` });
    return z.NEVER;
  }
  return n;
});

/** A rate as "0.3%" or as a fraction ("0.003"), between 0 and 1. */
export const rateSchema = z.union([z.number(), z.string()]).transform((v, ctx): number => {
  const text = String(v).trim();
  const n = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a rate like 5% or 0.05` });
    return z.NEVER;
  }
  return n;
});

/** Where a ramp ends when the setting names no maximum, recipients a day. */
export const DEFAULT_RAMP_MAX = 100_000;
/** A ramp's first day when an operator starts one without a number, recipients. */
export const DEFAULT_RAMP_START = 200;

const RAMP = /^(\d+)(?:\s*,\s*max\s*=\s*(\d+))?$/;

/**
 * The sending ramp of new tenants: "off" (the default), or the first day's cap with an
 * optional maximum, e.g. "200" or "200,max=50000" (recipients a day).
 */
export const rampSchema = z.string().transform((text, ctx) => {
  const t = text.trim().toLowerCase();
  if (t === 'off') return { newTenants: false, startPerDay: DEFAULT_RAMP_START, maxPerDay: DEFAULT_RAMP_MAX };
  const m = RAMP.exec(t);
  const start = Number(m?.[1]);
  const max = m?.[2] === undefined ? DEFAULT_RAMP_MAX : Number(m[2]);
  if (!m || start < 1 || max <= start) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not "off" or START[,max=MAX] with 0 < START < MAX`,
    });
    return z.NEVER;
  }
  return { newTenants: true, startPerDay: start, maxPerDay: max };
});

const d = DEFAULT_SAFETY_THRESHOLDS;

/** The settings of tenant limits and trust and safety, spread into config/schema.ts. */
export const tenantLimitsConfig = {
  /** Recipients a tenant may send per UTC day and month unless set for it (README, "Trust and safety"). */
  tenantDailyQuota: quotaSchema.default(null),
  tenantMonthlyQuota: quotaSchema.default(null),
  /** The sending ramp of tenants that have never sent: "off", or "START[,max=MAX]" recipients a day. */
  tenantRamp: rampSchema.prefault('off'),
  /** Trust and safety: pause a tenant or sending domain whose rates over the window pass these. */
  safety: z
    .union([z.boolean(), z.enum(['on', 'off'])], { error: 'on or off' })
    .transform((v) => v === true || v === 'on')
    .default(true),
  safetyBounceRate: rateSchema.prefault(String(d.hardBounceRate)),
  safetyComplaintRate: rateSchema.prefault(String(d.complaintRate)),
  safetyMinVolume: z.coerce.number().int().min(1).default(d.minVolume),
  safetyWindow: durationSchema.prefault('1d'),
  safetyInterval: durationSchema.prefault('1m'),
};

/**
 * Daily and monthly quotas of a tenant, counted in recipients as Resend counts them: every
 * to, cc and bcc address of an accepted email counts (Resend's account quotas, resend.com/docs).
 * Days and months are UTC calendar periods.
 */
export interface TenantQuotaSettings {
  /** Recipients a UTC day; null: unlimited. */
  readonly dailyQuota: number | null;
  /** Recipients a UTC month; null: unlimited. */
  readonly monthlyQuota: number | null;
  /** The sending ramp's cap for today; null: no ramp. */
  readonly rampCap: number | null;
}

export interface QuotaLimits {
  /** The day's cap and what set it (the tighter of the quota and the ramp), or null. */
  readonly daily: { readonly limit: number; readonly source: 'quota' | 'ramp' } | null;
  readonly monthly: number | null;
}

const DAY_MS = 86_400_000;

export function limitsOf(s: TenantQuotaSettings): QuotaLimits {
  const quota = s.dailyQuota;
  const ramp = s.rampCap;
  const daily =
    quota === null && ramp === null
      ? null
      : ramp !== null && (quota === null || ramp < quota)
        ? { limit: ramp, source: 'ramp' as const }
        : { limit: quota!, source: 'quota' as const };
  return { daily, monthly: s.monthlyQuota };
}

/** The UTC day containing `ms`, as days since the epoch. */
export const utcDay = (ms: number): number => Math.floor(ms / DAY_MS);

/** The UTC month containing `ms`, as months since January 1970. */
export function utcMonth(ms: number): number {
  const d = new Date(ms);
  return (d.getUTCFullYear() - 1970) * 12 + d.getUTCMonth();
}

export const dayStartMs = (day: number): number => day * DAY_MS;

/** Which quota a refused reservation hit, and the answer's message (Resend's wording). */
export function quotaMessage(
  which: 'daily' | 'monthly',
  limits: QuotaLimits,
): { name: 'daily_quota_exceeded' | 'monthly_quota_exceeded'; message: string } {
  if (which === 'monthly')
    return { name: 'monthly_quota_exceeded', message: 'You have reached your monthly email sending quota.' };
  const ramp =
    limits.daily?.source === 'ramp'
      ? ` While your account ramps up it may send to ${limits.daily.limit} recipients a day; the cap grows after each day of clean sending.`
      : '';
  return { name: 'daily_quota_exceeded', message: `You have reached your daily email sending quota.${ramp}` };
}

import type { TenantLimitsRow, TenantLimitsStore } from '../adapters/postgres/tenant-limits.js';
import {
  dayStartMs,
  limitsOf,
  quotaMessage,
  type TenantQuotaSettings,
  utcDay,
  utcMonth,
} from '../core/limits/quota.js';
import { nextRampStep, type RampPolicy } from '../core/limits/ramp.js';
import { refusingPause } from '../core/limits/safety.js';
import type { Pause } from '../core/routing/pauses.js';
import { ApiError } from './errors.js';

const DAY_MS = dayStartMs(1);

/** The node's defaults for tenants without settings of their own (null: unlimited). */
export interface QuotaDefaults {
  readonly dailyQuota: number | null;
  readonly monthlyQuota: number | null;
}

export interface TenantLimitsDeps {
  readonly store: Pick<
    TenantLimitsStore,
    'settings' | 'startRampIfNew' | 'advanceRamp' | 'dayOutcomes' | 'reserve' | 'refund'
  >;
  readonly defaults: QuotaDefaults;
  /** How a ramp grows; `newTenants`: tenants that have never sent start on it. */
  readonly ramp: RampPolicy & { readonly newTenants: boolean };
  /** The pauses in force as this node's route cache has them. */
  readonly pauses: () => readonly Pause[];
  readonly now: () => number;
  /** A tenant's settings are read again after this long, ms (changes are announced sooner). */
  readonly ttlMs: number;
}

/** A stored -1 means "unlimited" whatever the node's default; null means the default. */
const own = (stored: number | null, fallback: number | null) =>
  stored === null ? fallback : stored < 0 ? null : stored;

/** Quotas the tenant's request took; given back when its messages could not be stored. */
export interface Reservation {
  refund(): Promise<void>;
}

const NOTHING_TAKEN: Reservation = { refund: async () => {} };

/**
 * What the accept path asks of a tenant's limits: whether trust and safety paused the tenant
 * or the sending domain (the API then refuses with 403), and a reservation of its daily and
 * monthly quotas (429 when it would pass one). Settings are cached per node and per UTC day;
 * the first look on a new day moves a ramping tenant's cap (core/limits/ramp.ts).
 */
export function createTenantLimits(deps: TenantLimitsDeps) {
  const cache = new Map<string, { at: number; day: number; settings: TenantQuotaSettings }>();
  let generation = 0;

  async function rampedRow(tenantId: string, today: number): Promise<TenantLimitsRow | null> {
    let row = await deps.store.settings(tenantId);
    if (!row && deps.ramp.newTenants) {
      if (await deps.store.startRampIfNew(tenantId, deps.ramp.startPerDay, today))
        row = await deps.store.settings(tenantId);
    }
    if (row && row.rampCap !== null && row.rampDay !== null && row.rampDay < today) {
      const day = await deps.store.dayOutcomes(tenantId, row.rampDay, DAY_MS);
      const step = nextRampStep(row.rampCap, day, deps.ramp);
      const cap = step.kind === 'grow' ? step.cap : step.kind === 'done' ? null : row.rampCap;
      await deps.store.advanceRamp(tenantId, row.rampDay, today, cap);
      row = await deps.store.settings(tenantId);
    }
    return row;
  }

  async function settingsOf(tenantId: string): Promise<TenantQuotaSettings> {
    const at = deps.now();
    const today = utcDay(at);
    const hit = cache.get(tenantId);
    if (hit && hit.day === today && at - hit.at < deps.ttlMs) return hit.settings;
    const gen = generation;
    const row = await rampedRow(tenantId, today);
    const settings: TenantQuotaSettings = {
      dailyQuota: own(row?.dailyQuota ?? null, deps.defaults.dailyQuota),
      monthlyQuota: own(row?.monthlyQuota ?? null, deps.defaults.monthlyQuota),
      rampCap: row?.rampCap ?? null,
    };
    if (gen === generation) {
      if (cache.size >= 10_000) cache.clear();
      cache.set(tenantId, { at, day: today, settings });
    }
    return settings;
  }

  return {
    /** 403 when trust and safety paused the tenant or this sending domain of it. */
    refuseIfPaused(tenantName: string, sendingDomain: string): void {
      const p = refusingPause(deps.pauses(), tenantName, sendingDomain, deps.now());
      if (!p) return;
      const what = p.scope === 'tenant' ? 'Sending for this account' : `Sending from ${sendingDomain}`;
      throw new ApiError(
        403,
        'validation_error',
        `${what} is paused to protect deliverability: ${p.reason}. Contact your administrator to resume it.`,
      );
    },

    /** Takes `recipients` from the tenant's quotas, or throws the 429 of the quota it would pass. */
    async reserve(tenantId: string, recipients: number): Promise<Reservation> {
      const limits = limitsOf(await settingsOf(tenantId));
      if (!limits.daily && limits.monthly === null) return NOTHING_TAKEN;
      const at = deps.now();
      const day = utcDay(at);
      const month = utcMonth(at);
      const r = await deps.store.reserve(
        tenantId,
        recipients,
        { daily: limits.daily?.limit ?? null, monthly: limits.monthly },
        day,
        month,
      );
      if (!r.ok) {
        const m = quotaMessage(r.which, limits);
        throw new ApiError(429, m.name, m.message);
      }
      return { refund: () => deps.store.refund(tenantId, recipients, day, month) };
    },

    /** Drops every cached setting (a change was announced on posthorn_auth). */
    invalidate(): void {
      generation++;
      cache.clear();
    },
  };
}

export type TenantLimits = ReturnType<typeof createTenantLimits>;

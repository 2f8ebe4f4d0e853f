import type { Logger } from 'pino';
import type { ControlClient } from '../adapters/control-client.js';
import type { Db } from '../adapters/postgres/db.js';
import { tenantLimitsStore } from '../adapters/postgres/tenant-limits.js';
import { trustSafetyStore } from '../adapters/postgres/trust-safety.js';
import { createTenantRateBudget, createTenantRateLimit } from '../api/rate-limit.js';
import { createTenantLimits } from '../api/tenant-limits.js';
import { startTrustSafety } from '../api/trust-safety.js';
import type { Config } from '../config/schema.js';
import type { Pause } from '../core/routing/pauses.js';

/** A tenant's limit settings are read again after this long, ms (changes are announced sooner). */
const SETTINGS_CACHE_MS = 60_000;

/**
 * The accept path's tenant limits (docs/operations.md, "Trust and safety"): the request rate
 * shared by every node, quotas with the sending ramp, and the refusal of automatically paused
 * tenants. `pauses` reads the node's route cache; `invalidate` drops cached settings when
 * posthorn_auth announces a change.
 */
export function tenantLimitsRuntime(db: Db, config: Config, pauses: () => readonly Pause[]) {
  const store = tenantLimitsStore(db);
  const limits = createTenantLimits({
    store,
    defaults: { dailyQuota: config.tenantDailyQuota, monthlyQuota: config.tenantMonthlyQuota },
    ramp: {
      ...config.tenantRamp,
      hardBounceRate: config.safetyBounceRate,
      complaintRate: config.safetyComplaintRate,
    },
    pauses,
    now: Date.now,
    ttlMs: SETTINGS_CACHE_MS,
  });
  // One budget for every front door: the HTTP API and SMTP submission.
  const rateBudget = createTenantRateBudget(config.apiRate, store.takeRate, Date.now);
  return {
    limits,
    rateBudget,
    rateLimit: createTenantRateLimit(rateBudget),
    invalidate: () => limits.invalidate(),
  };
}

/** The trust-and-safety round on this node, or null when POSTHORN_SAFETY is off. */
export function trustSafetyRuntime(
  db: Db,
  config: Config,
  routing: { control: Pick<ControlClient, 'pause'>; pauses: () => readonly Pause[] },
  log: Logger,
) {
  if (!config.safety) return null;
  return startTrustSafety({
    store: trustSafetyStore(db),
    control: routing.control,
    pauses: routing.pauses,
    thresholds: {
      hardBounceRate: config.safetyBounceRate,
      complaintRate: config.safetyComplaintRate,
      minVolume: config.safetyMinVolume,
      windowMs: config.safetyWindow,
    },
    intervalMs: config.safetyInterval,
    now: Date.now,
    log,
  });
}

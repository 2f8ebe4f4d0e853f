import type { FastifyReply } from 'fastify';
import type { RateTake } from '../adapters/postgres/tenant-limits.js';
import { emissionIntervalMs, type ThrottleSpec } from '../core/delivery/throttle-spec.js';
import { ApiError } from './errors.js';

/** The shared bucket: one GCRA take for a tenant (adapters/postgres/tenant-limits.ts). */
export type RateBucket = (tenantId: string, intervalMs: number, toleranceMs: number) => Promise<RateTake>;

/** One request's take from its tenant's budget; seconds are rounded up. */
export interface RateDecision {
  readonly allowed: boolean;
  /** The burst: requests that may come at once. */
  readonly limit: number;
  /** Requests that would still conform now. */
  readonly remaining: number;
  /** Until the budget is whole again, s. */
  readonly resetS: number;
  /** Until the next request conforms, s (at least 1); meaningful when refused. */
  readonly retryAfterS: number;
}

export type TenantRateBudget = (tenantId: string) => Promise<RateDecision | null>;

/** Tenants this node remembers as refused; past this many the memory starts afresh. */
const MAX_REFUSED_TENANTS = 10_000;

/**
 * Per-tenant request rate on the sending endpoints, one GCRA bucket per tenant shared by
 * every node and by every front door, the HTTP API and SMTP submission alike (Resend limits
 * per team across keys: resend.com/docs/api-reference/introduction#rate-limit). Each request
 * takes from the tenant's row in PostgreSQL with one atomic statement (docs/operations.md,
 * "Trust and safety", for the measured cost and why not per-node leases). A refusal is
 * remembered on the node until the bucket conforms again, so a tenant hammering past its
 * limit costs the database nothing: no other node's take can make that moment earlier.
 * Null when the limit is off.
 */
export function createTenantRateBudget(
  spec: ThrottleSpec | null,
  bucket: RateBucket,
  now: () => number,
): TenantRateBudget {
  const intervalMs = spec ? emissionIntervalMs(spec) : 0;
  const toleranceMs = spec ? (spec.burst - 1) * intervalMs : 0;
  /** Tenant → when (this node's clock, ms) its bucket conforms again. */
  const refusedUntil = new Map<string, number>();
  const refused = (limit: number, waitMs: number): RateDecision => ({
    allowed: false,
    limit,
    remaining: 0,
    // The bucket is full again τ after the next request conforms.
    resetS: Math.ceil((waitMs + toleranceMs) / 1000),
    retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)),
  });

  return async (tenantId) => {
    if (!spec) return null;
    const until = refusedUntil.get(tenantId);
    if (until !== undefined) {
      if (now() < until) return refused(spec.burst, until - now());
      refusedUntil.delete(tenantId);
    }
    const t = await bucket(tenantId, intervalMs, toleranceMs);
    if (!t.allowed) {
      const waitMs = Math.max(1, t.tatMs - toleranceMs - t.nowMs);
      if (refusedUntil.size >= MAX_REFUSED_TENANTS) refusedUntil.clear();
      refusedUntil.set(tenantId, now() + waitMs);
      return refused(spec.burst, waitMs);
    }
    return {
      allowed: true,
      limit: spec.burst,
      // Requests that would still conform now: the next one does while now ≥ TAT − τ, and
      // each takes one interval T more.
      remaining: Math.max(0, Math.floor((t.nowMs + toleranceMs - t.tatMs) / intervalMs) + 1),
      resetS: Math.ceil(Math.max(0, t.tatMs - t.nowMs) / 1000),
      retryAfterS: 0,
    };
  };
}

/**
 * The HTTP side of the budget: every answer carries the IETF RateLimit fields
 * (draft-ietf-httpapi-ratelimit-headers-06: ratelimit-limit/-remaining/-reset) and a
 * refusal carries Retry-After (RFC 9110 §10.2.3), in seconds.
 */
export function createTenantRateLimit(budget: TenantRateBudget) {
  return async function take(tenantId: string, reply: FastifyReply): Promise<void> {
    const decision = await budget(tenantId);
    if (!decision) return;
    reply.header('ratelimit-limit', decision.limit);
    reply.header('ratelimit-remaining', decision.remaining);
    reply.header('ratelimit-reset', decision.resetS);
    if (!decision.allowed) {
      reply.header('retry-after', decision.retryAfterS);
      throw new ApiError(
        429,
        'rate_limit_exceeded',
        'Too many requests. Please limit the number of requests per second. Or contact support to increase rate limit.',
      );
    }
  };
}

export type TenantRateLimit = ReturnType<typeof createTenantRateLimit>;

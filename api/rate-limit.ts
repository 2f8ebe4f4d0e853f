import type { FastifyReply } from 'fastify';
import {
  emissionIntervalMs,
  type GcraState,
  gcraTake,
  type ThrottleSpec,
} from '../core/delivery/throttle-spec.js';
import { ApiError } from './errors.js';

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

/**
 * Per-tenant request rate on the sending endpoints, as a GCRA on this node (Resend limits
 * per team across keys: resend.com/docs/api-reference/introduction#rate-limit). One budget
 * serves every front door, the HTTP API and SMTP submission alike; null when it is off.
 */
export function createTenantRateBudget(
  spec: ThrottleSpec | null,
  now: () => number,
): (tenantId: string) => RateDecision | null {
  const states = new Map<string, GcraState>();
  const intervalMs = spec ? emissionIntervalMs(spec) : 0;
  return (tenantId) => {
    if (!spec) return null;
    const at = now();
    const decision = gcraTake(states.get(tenantId) ?? null, spec, at);
    states.set(tenantId, decision.state);
    // Requests that would still conform now: the next one does while now ≥ TAT − τ, and each
    // takes one interval T more (τ = (burst − 1)·T).
    const toleranceMs = (spec.burst - 1) * intervalMs;
    return {
      allowed: decision.allowed,
      limit: spec.burst,
      remaining: decision.allowed
        ? Math.max(0, Math.floor((at + toleranceMs - decision.state.tat) / intervalMs) + 1)
        : 0,
      resetS: Math.ceil(Math.max(0, decision.state.tat - at) / 1000),
      retryAfterS: decision.allowed ? 0 : Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
    };
  };
}

/**
 * The HTTP side of the budget: every answer carries the IETF RateLimit fields
 * (draft-ietf-httpapi-ratelimit-headers-06: ratelimit-limit/-remaining/-reset) and a
 * refusal carries Retry-After (RFC 9110 §10.2.3), in seconds.
 */
export function createTenantRateLimit(
  spec: ThrottleSpec | null,
  now: () => number,
  budget = createTenantRateBudget(spec, now),
) {
  return function take(tenantId: string, reply: FastifyReply): void {
    const decision = budget(tenantId);
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

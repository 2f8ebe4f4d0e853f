import type { FastifyReply } from 'fastify';
import {
  emissionIntervalMs,
  type GcraState,
  gcraTake,
  type ThrottleSpec,
} from '../core/delivery/throttle-spec.js';
import { ApiError } from './errors.js';

/**
 * Per-tenant request rate on the sending endpoints, as a GCRA on this node (Resend limits
 * per team across keys: resend.com/docs/api-reference/introduction#rate-limit). Every
 * answer carries the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers-06:
 * ratelimit-limit/-remaining/-reset) and a refusal carries Retry-After (RFC 9110 §10.2.3),
 * in seconds.
 */
export function createTenantRateLimit(spec: ThrottleSpec | null, now: () => number) {
  const states = new Map<string, GcraState>();
  const intervalMs = spec ? emissionIntervalMs(spec) : 0;

  return function take(tenantId: string, reply: FastifyReply): void {
    if (!spec) return;
    const at = now();
    const decision = gcraTake(states.get(tenantId) ?? null, spec, at);
    states.set(tenantId, decision.state);
    // Requests that would still conform now: the next one does while now ≥ TAT − τ, and each
    // takes one interval T more (τ = (burst − 1)·T).
    const toleranceMs = (spec.burst - 1) * intervalMs;
    const remaining = decision.allowed
      ? Math.max(0, Math.floor((at + toleranceMs - decision.state.tat) / intervalMs) + 1)
      : 0;
    reply.header('ratelimit-limit', spec.burst);
    reply.header('ratelimit-remaining', remaining);
    reply.header('ratelimit-reset', Math.ceil(Math.max(0, decision.state.tat - at) / 1000));
    if (!decision.allowed) {
      reply.header('retry-after', Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
      throw new ApiError(
        429,
        'rate_limit_exceeded',
        'Too many requests. Please limit the number of requests per second. Or contact support to increase rate limit.',
      );
    }
  };
}

export type TenantRateLimit = ReturnType<typeof createTenantRateLimit>;

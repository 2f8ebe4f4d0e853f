import type { FastifyReply } from 'fastify';
import type { RateTake } from '../adapters/postgres/tenant-limits.js';
import { emissionIntervalMs, type ThrottleSpec } from '../core/delivery/throttle-spec.js';
import { ApiError } from './errors.js';

/** The shared bucket: one GCRA take for a tenant (adapters/postgres/tenant-limits.ts). */
export type RateBucket = (tenantId: string, intervalMs: number, toleranceMs: number) => Promise<RateTake>;

/** Tenants this node remembers as refused; past this many the memory starts afresh. */
const MAX_REFUSED_TENANTS = 10_000;

/**
 * Per-tenant request rate on the sending endpoints, one GCRA bucket per tenant shared by
 * every node (Resend limits per team across keys:
 * resend.com/docs/api-reference/introduction#rate-limit). Each request takes from the
 * tenant's row in PostgreSQL with one atomic statement (docs/operations.md, "Trust and
 * safety", for the measured cost and why not per-node leases). A refusal is remembered on the
 * node until the bucket conforms again, so a tenant hammering past its limit costs the
 * database nothing: no other node's take can make that moment earlier. Every answer carries
 * the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers-06:
 * ratelimit-limit/-remaining/-reset) and a refusal carries Retry-After (RFC 9110 §10.2.3),
 * in seconds.
 */
export function createTenantRateLimit(spec: ThrottleSpec | null, bucket: RateBucket, now: () => number) {
  const intervalMs = spec ? emissionIntervalMs(spec) : 0;
  const toleranceMs = spec ? (spec.burst - 1) * intervalMs : 0;
  /** Tenant → when (this node's clock, ms) its bucket conforms again. */
  const refusedUntil = new Map<string, number>();

  function refuse(reply: FastifyReply, waitMs: number): never {
    reply.header('ratelimit-remaining', 0);
    // The bucket is full again τ after the next request conforms.
    reply.header('ratelimit-reset', Math.ceil((waitMs + toleranceMs) / 1000));
    reply.header('retry-after', Math.max(1, Math.ceil(waitMs / 1000)));
    throw new ApiError(
      429,
      'rate_limit_exceeded',
      'Too many requests. Please limit the number of requests per second. Or contact support to increase rate limit.',
    );
  }

  return async function take(tenantId: string, reply: FastifyReply): Promise<void> {
    if (!spec) return;
    reply.header('ratelimit-limit', spec.burst);
    const until = refusedUntil.get(tenantId);
    if (until !== undefined) {
      if (now() < until) refuse(reply, until - now());
      refusedUntil.delete(tenantId);
    }
    const t = await bucket(tenantId, intervalMs, toleranceMs);
    if (!t.allowed) {
      const waitMs = Math.max(1, t.tatMs - toleranceMs - t.nowMs);
      if (refusedUntil.size >= MAX_REFUSED_TENANTS) refusedUntil.clear();
      refusedUntil.set(tenantId, now() + waitMs);
      refuse(reply, waitMs);
    }
    // Requests that would still conform now: the next one does while now ≥ TAT − τ, and each
    // takes one interval T more.
    const remaining = Math.max(0, Math.floor((t.nowMs + toleranceMs - t.tatMs) / intervalMs) + 1);
    reply.header('ratelimit-remaining', remaining);
    reply.header('ratelimit-reset', Math.ceil(Math.max(0, t.tatMs - t.nowMs) / 1000));
  };
}

export type TenantRateLimit = ReturnType<typeof createTenantRateLimit>;

import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { IdempotencyStore } from '../adapters/postgres/idempotency.js';
import { ApiError } from './errors.js';

/** JSON with object keys sorted, so key order does not change a request's fingerprint. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface IdempotentReply {
  statusCode: number;
  body: unknown;
}

/**
 * Runs `handler` at most once per (tenant, endpoint, Idempotency-Key) within 24 h:
 * the same key and body replay the stored answer; another body is a 409
 * `invalid_idempotent_request`; a request still running is a 409
 * `concurrent_idempotent_requests`. Errors release the key so the client can retry.
 */
export async function withIdempotency(
  req: FastifyRequest,
  store: IdempotencyStore,
  tenantId: string,
  endpoint: string,
  handler: () => Promise<IdempotentReply>,
): Promise<IdempotentReply> {
  const header = req.headers['idempotency-key'];
  if (header === undefined) return handler();
  const key = Array.isArray(header) ? header.join(',') : header;
  if (key.length < 1 || key.length > 256) {
    throw new ApiError(
      400,
      'invalid_idempotency_key',
      'Idempotency keys, if present, must have between 1 and 256 characters.',
    );
  }
  const hash = createHash('sha256')
    .update(canonical(req.body ?? null))
    .digest('hex');
  const claim = await store.claim(tenantId, endpoint, key, hash);
  switch (claim.kind) {
    case 'replay':
      return { statusCode: claim.statusCode, body: claim.body };
    case 'mismatch':
      throw new ApiError(
        409,
        'invalid_idempotent_request',
        'Same idempotency key used with a different request payload.',
      );
    case 'in_progress':
      throw new ApiError(
        409,
        'concurrent_idempotent_requests',
        'Same idempotency key used while original request is still in progress.',
      );
    case 'claimed':
      break;
  }
  let reply: IdempotentReply;
  try {
    reply = await handler();
  } catch (err) {
    await store.release(tenantId, endpoint, key);
    throw err;
  }
  // The handler's work is committed: its answer stands even if it cannot be recorded. The
  // key then stays in progress until it expires, and a retry with it gets a 409, never a
  // second copy of the mail.
  await store.complete(tenantId, endpoint, key, reply.statusCode, reply.body).catch((err: unknown) => {
    req.log.warn({ err, event: 'idempotency.complete_failed' }, 'could not record an idempotent reply');
  });
  return reply;
}

import { isDatabaseUnavailable } from '../adapters/postgres/db.js';

/**
 * Whether an error means a dependency is unreachable rather than a bug: PostgreSQL refusing
 * or dropping connections, or Temporal's frontend unavailable. Such requests answer 503 with
 * Retry-After (docs/reliability.md, "Accepting"): the client should come back, and nothing
 * was accepted.
 */
export function isDependencyUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (isDatabaseUnavailable(e)) return true;
    const x = e as { code?: unknown; cause?: unknown };
    // gRPC status 14 UNAVAILABLE or 4 DEADLINE_EXCEEDED from the Temporal frontend (the
    // client's ServiceError carries the gRPC error as its cause). Socket errors on the way
    // to either server are recognised above.
    if (x.code === 14 || x.code === 4) return true;
    e = x.cause;
  }
  return false;
}

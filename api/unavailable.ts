/**
 * Whether an error means a dependency is unreachable rather than a bug: PostgreSQL refusing
 * or dropping connections, or Temporal's frontend unavailable. Such requests answer 503 with
 * Retry-After (docs/reliability.md, "Accepting"): the client should come back, and nothing
 * was accepted.
 */
export function isDependencyUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const x = e as { code?: unknown; message?: unknown; cause?: unknown; syscall?: unknown };
    const code = typeof x.code === 'string' || typeof x.code === 'number' ? String(x.code) : '';
    // Node socket errors on the way to PostgreSQL or Temporal.
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'].includes(code)) return true;
    // A Unix socket whose server is down: the socket file is gone (the embedded server's).
    if (code === 'ENOENT' && x.syscall === 'connect') return true;
    // PostgreSQL SQLSTATE: class 08 connection exception, 57P01–57P03 shutdown and "cannot
    // connect now", 53300 too many connections, 55000 when the database refuses connections.
    if (/^08/.test(code) || /^57P0[1-3]$/.test(code) || code === '53300') return true;
    // Our lock_timeout and statement_timeout (55P03, 57014): busy now, not broken.
    if (code === '55P03' || code === '57014') return true;
    if (code === '55000' && /not currently accepting connections/.test(String(x.message))) return true;
    // node-postgres when the server goes away mid-query.
    if (/Connection terminated|connection timeout/i.test(String(x.message))) return true;
    // gRPC status 14 UNAVAILABLE or 4 DEADLINE_EXCEEDED from the Temporal frontend (the
    // client's ServiceError carries the gRPC error as its cause).
    if (typeof x.code === 'number' && (x.code === 14 || x.code === 4)) return true;
    e = x.cause;
  }
  return false;
}

/**
 * MX hosts whose STARTTLS handshake failed recently (TLS-broken). Opportunistic TLS
 * (RFC 7435) falls back to plaintext on a new connection after such a failure, which costs
 * a connection and a handshake timeout each time; Postfix keeps the same memory in its
 * TLS session cache. For `ttlMs` after a failure, opportunistic deliveries to the host go
 * plaintext directly. Never consulted under MTA-STS enforce or tenant require-TLS.
 * In-process and per node: a restart forgets, which only costs one more failed handshake.
 */
export interface TlsMemory {
  /** True while the host is remembered as TLS-broken. */
  broken(mxHost: string): boolean;
  /** Remembers a failed handshake with the host, from now for ttlMs. */
  remember(mxHost: string): void;
  /** How long a failure is remembered, ms. */
  readonly ttlMs: number;
}

export interface TlsMemoryOptions {
  /** ms; default one hour. */
  readonly ttlMs?: number;
  /** Clock, ms since the epoch. */
  readonly now?: () => number;
  /** Hosts kept at most (the oldest are dropped first). */
  readonly maxEntries?: number;
}

export const DEFAULT_TLS_MEMORY_MS = 60 * 60 * 1000;

export function createTlsMemory(options: TlsMemoryOptions = {}): TlsMemory {
  const ttlMs = options.ttlMs ?? DEFAULT_TLS_MEMORY_MS;
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  /** Host → until when it is TLS-broken, ms since the epoch; insertion order = age. */
  const until = new Map<string, number>();
  const key = (host: string) => host.toLowerCase().replace(/\.$/, '');
  return {
    ttlMs,
    broken(mxHost) {
      const k = key(mxHost);
      const t = until.get(k);
      if (t === undefined) return false;
      if (t > now()) return true;
      until.delete(k);
      return false;
    },
    remember(mxHost) {
      const k = key(mxHost);
      until.delete(k);
      until.set(k, now() + ttlMs);
      if (until.size > maxEntries) until.delete(until.keys().next().value as string);
    },
  };
}

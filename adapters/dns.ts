import { Resolver } from 'node:dns/promises';
import type { MxRecord } from '../core/delivery/mx.js';

/**
 * DNS look-ups for delivery, as typed outcomes: NXDOMAIN and "no data" are answers,
 * SERVFAIL, refusals and time-outs are temporary failures (RFC 5321 §5.1 says a
 * temporary DNS error must defer, not bounce).
 */
export type DnsAnswer<T> =
  /** ttlMs: the records' lowest TTL when the resolver reports it (A and AAAA), ms. */
  | { kind: 'ok'; value: T; ttlMs?: number }
  | { kind: 'nxdomain' }
  | { kind: 'nodata' }
  | { kind: 'temporary'; detail: string };

export interface DnsResolver {
  mx(domain: string): Promise<DnsAnswer<MxRecord[]>>;
  addresses(host: string): Promise<DnsAnswer<string[]>>;
  /** TXT records of a name, each as its list of character-strings (RFC 1035 §3.3.14). */
  txt(name: string): Promise<DnsAnswer<string[][]>>;
}

export interface DnsOptions {
  /** "host:port" entries; empty means the system resolver configuration. */
  servers: readonly string[];
  /** Per-query timeout, ms. */
  timeoutMs: number;
  tries: number;
}

function toAnswer<T>(err: unknown): DnsAnswer<T> {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ENOTFOUND':
      return { kind: 'nxdomain' };
    case 'ENODATA':
      return { kind: 'nodata' };
    default:
      return { kind: 'temporary', detail: `${code ?? 'error'}: ${(err as Error).message}` };
  }
}

export function createDnsResolver(options: DnsOptions): DnsResolver {
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: options.tries });
  if (options.servers.length > 0) resolver.setServers([...options.servers]);

  async function ask<T>(q: () => Promise<T>): Promise<DnsAnswer<T>> {
    try {
      return { kind: 'ok', value: await q() };
    } catch (err) {
      return toAnswer<T>(err);
    }
  }

  return {
    mx: (domain) =>
      ask(() =>
        resolver
          .resolveMx(domain)
          .then((rs) => rs.map((r) => ({ exchange: r.exchange, priority: r.priority }))),
      ),
    async addresses(host) {
      const [v4, v6] = await Promise.all([
        ask(() => resolver.resolve4(host, { ttl: true })),
        ask(() => resolver.resolve6(host, { ttl: true })),
      ]);
      const found = [...(v4.kind === 'ok' ? v4.value : []), ...(v6.kind === 'ok' ? v6.value : [])];
      if (found.length > 0) {
        return {
          kind: 'ok',
          value: found.map((r) => r.address),
          ttlMs: Math.min(...found.map((r) => r.ttl)) * 1000,
        };
      }
      if (v4.kind === 'temporary') return v4;
      if (v6.kind === 'temporary') return v6;
      return v4.kind === 'nxdomain' ? { kind: 'nxdomain' } : { kind: 'nodata' };
    },
    txt: (name) => ask(() => resolver.resolveTxt(name)),
  };
}

export interface DnsCacheOptions {
  readonly now: () => number;
  /** No answer is kept longer than this, whatever its TTL, ms. */
  readonly maxTtlMs: number;
  /**
   * How long answers without a TTL from the resolver (MX, TXT: Node's resolver does not
   * report theirs) and negative answers are kept, ms. RFC 2308 §5 caps negative caching by
   * the zone's SOA minimum, which we do not see; a short bound keeps both honest.
   */
  readonly shortTtlMs: number;
  /** Entries kept at most; past it the cache starts afresh. */
  readonly maxEntries: number;
}

/**
 * Answers cached in-process by TTL, with negative caching, and concurrent identical
 * questions sharing one query (a wave of fifty messages to one domain asks once).
 * Temporary failures are shared while in flight but never cached: the next delivery asks
 * again.
 */
export function cachingResolver(inner: DnsResolver, o: DnsCacheOptions): DnsResolver {
  const cache = new Map<string, { until: number; answer: DnsAnswer<unknown> }>();
  const inFlight = new Map<string, Promise<DnsAnswer<unknown>>>();

  function lifetime(answer: DnsAnswer<unknown>): number {
    switch (answer.kind) {
      case 'ok':
        return Math.min(o.maxTtlMs, answer.ttlMs ?? o.shortTtlMs);
      case 'nxdomain':
      case 'nodata':
        return o.shortTtlMs;
      case 'temporary':
        return 0;
    }
  }

  function cached<T>(key: string, ask: () => Promise<DnsAnswer<T>>): Promise<DnsAnswer<T>> {
    const hit = cache.get(key);
    if (hit && hit.until > o.now()) return Promise.resolve(hit.answer as DnsAnswer<T>);
    const pending = inFlight.get(key);
    if (pending) return pending as Promise<DnsAnswer<T>>;
    const asked = ask()
      .finally(() => inFlight.delete(key))
      .then((answer) => {
        const ms = lifetime(answer);
        if (ms > 0) {
          if (cache.size >= o.maxEntries) cache.clear();
          cache.set(key, { until: o.now() + ms, answer });
        }
        return answer;
      });
    inFlight.set(key, asked);
    return asked;
  }

  return {
    mx: (domain) => cached(`mx ${domain.toLowerCase()}`, () => inner.mx(domain)),
    addresses: (host) => cached(`a ${host.toLowerCase()}`, () => inner.addresses(host)),
    txt: (name) => cached(`txt ${name.toLowerCase()}`, () => inner.txt(name)),
  };
}

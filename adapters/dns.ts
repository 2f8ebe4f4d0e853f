import { Resolver } from 'node:dns/promises';
import type { MxRecord } from '../core/mx.js';

/**
 * DNS look-ups for delivery, as typed outcomes: NXDOMAIN and "no data" are answers,
 * SERVFAIL, refusals and time-outs are temporary failures (RFC 5321 §5.1 says a
 * temporary DNS error must defer, not bounce).
 */
export type DnsAnswer<T> =
  | { kind: 'ok'; value: T }
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
        ask(() => resolver.resolve4(host)),
        ask(() => resolver.resolve6(host)),
      ]);
      const found = [...(v4.kind === 'ok' ? v4.value : []), ...(v6.kind === 'ok' ? v6.value : [])];
      if (found.length > 0) return { kind: 'ok', value: found };
      if (v4.kind === 'temporary') return v4;
      if (v6.kind === 'temporary') return v6;
      return v4.kind === 'nxdomain' ? { kind: 'nxdomain' } : { kind: 'nodata' };
    },
    txt: (name) => ask(() => resolver.resolveTxt(name)),
  };
}

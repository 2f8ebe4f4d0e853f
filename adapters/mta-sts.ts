import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { parseStsPolicy, parseStsTxt, type StsMode, type StsPolicy } from '../core/delivery/mta-sts.js';
import type { DnsResolver } from './dns.js';
import { type AddressLookup, createGuardedHttp } from './guarded-http.js';

/**
 * MTA-STS policy discovery (RFC 8461 §3, §5.1): TXT `_mta-sts.<domain>` for the policy id,
 * then `https://mta-sts.<domain>/.well-known/mta-sts.txt` with undici, cached per domain
 * until max_age runs out or the TXT id changes.
 *
 * The fetch is hardened as RFC 8461 §3.3 asks and as a URL chosen by a stranger's DNS
 * requires (adapters/guarded-http.ts): no redirects (any 3xx is a failure), certificate
 * validated against the host name, body capped (64 KiB), a short timeout, and the egress
 * guard against non-public addresses.
 */

/** TXT look-up, e.g. adapters/dns.ts; each record is its list of character-strings. */
export type TxtLookup = (name: string) => Promise<string[][] | 'nxdomain' | 'temporary'>;
export type { AddressLookup } from './guarded-http.js';

export type MtaStsLookup =
  | {
      kind: 'none';
      reason: 'no_record' | 'invalid_record' | 'fetch_failed' | 'invalid_policy';
      detail: string;
    }
  | {
      kind: 'policy';
      mode: StsMode;
      mx: readonly string[];
      id: string;
      /** Seconds, as published (clamped to RFC 8461's maximum). */
      maxAge: number;
      /** True when served from cache without an HTTPS fetch. */
      cached: boolean;
    }
  | { kind: 'temporary'; detail: string };

export type PolicyFetchFailure =
  | 'bad_domain'
  | 'egress_refused'
  | 'network'
  | 'http_status'
  | 'content_type'
  | 'too_large';

export type PolicyFetch =
  | { ok: true; text: string }
  | { ok: false; reason: PolicyFetchFailure; detail: string };

export interface MtaStsOptions {
  readonly txt: TxtLookup;
  readonly addresses: AddressLookup;
  /** Clock, ms since the epoch. */
  readonly now?: () => number;
  /** Whole fetch (connect, TLS, headers, body), ms. RFC 8461 §3.3 asks for a "reasonable" one. */
  readonly timeoutMs?: number;
  /** Body cap, bytes (RFC 8461 §3.3 suggests 64 KB). */
  readonly maxBodyBytes?: number;
  /** Extra trust anchors, PEM (tests). Replaces the default CA list when set, as in tls.connect. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** HTTPS port (tests). RFC 8461 §3.3 fixes 443. */
  readonly port?: number;
  /** Tests only: let the egress guard pass loopback addresses (never private or link-local). */
  readonly allowLoopback?: boolean;
  /** Domains kept in the policy cache (oldest dropped first). */
  readonly maxCacheEntries?: number;
}

export interface MtaStsResolver {
  /**
   * The policy in force for a recipient domain. Every call re-reads the TXT id (cheap, and
   * what RFC 8461 §5.1 asks before relying on a cached policy); the HTTPS fetch happens
   * only when the id changed or the cached policy expired. Call it again before turning
   * an MX mismatch into a permanent failure (RFC 8461 §5).
   */
  lookup(domain: string): Promise<MtaStsLookup>;
  /** Number of HTTPS fetches attempted so far (for metrics and tests). */
  readonly fetches: number;
  close(): Promise<void>;
}

/** The look-ups a resolver needs, over a DNS resolver shaped like adapters/dns.ts. */
export function stsLookupsOver(dns: Pick<DnsResolver, 'txt' | 'addresses'>): {
  txt: TxtLookup;
  addresses: AddressLookup;
} {
  return {
    async txt(name) {
      const a = await dns.txt(name);
      if (a.kind === 'ok') return a.value;
      // NODATA and NXDOMAIN both mean "no record" (RFC 8461 §3.1); a failure is temporary.
      return a.kind === 'temporary' ? 'temporary' : 'nxdomain';
    },
    async addresses(host) {
      const a = await dns.addresses(host);
      if (a.kind === 'ok') return a.value;
      throw new Error(`${host}: ${a.kind === 'temporary' ? a.detail : a.kind}`);
    },
  };
}

/** Read once per process: the bundle is configuration, like the rest of the config. */
const anchorsByPath = new Map<string, string[]>();

/**
 * Node's bundled CA list plus the PEM bundle at `path` (tests, private PKI), for the policy
 * fetch and for certificate checks of MX hosts under `enforce`; undefined without a path
 * (the default list). A `ca` option replaces the default list, hence the explicit union.
 */
export function trustAnchors(path: string | undefined): string[] | undefined {
  if (!path) return undefined;
  let anchors = anchorsByPath.get(path);
  if (!anchors) {
    anchors = [...rootCertificates, readFileSync(path, 'utf8')];
    anchorsByPath.set(path, anchors);
  }
  return anchors;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
export const DEFAULT_TIMEOUT_MS = 10_000;

const LDH_DOMAIN = /^(?=.{1,253}$)((?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?!-)[a-z0-9-]{1,63}(?<!-)$/;

interface CacheEntry {
  readonly id: string;
  readonly policy: StsPolicy;
  /** ms since the epoch */
  readonly expiresAt: number;
}

export function createMtaStsResolver(options: MtaStsOptions): MtaStsResolver {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxEntries = options.maxCacheEntries ?? 10_000;
  const cache = new Map<string, CacheEntry>();
  const inflight = new Map<string, Promise<MtaStsLookup>>();
  let fetches = 0;

  const http = createGuardedHttp({
    addresses: options.addresses,
    timeoutMs,
    ...(options.ca ? { ca: options.ca } : {}),
    ...(options.allowLoopback ? { allowLoopback: true } : {}),
  });

  async function fetchPolicy(domain: string): Promise<PolicyFetch> {
    if (!LDH_DOMAIN.test(domain)) return { ok: false, reason: 'bad_domain', detail: domain };
    fetches++;
    const port = options.port && options.port !== 443 ? `:${options.port}` : '';
    const url = `https://mta-sts.${domain}${port}/.well-known/mta-sts.txt`;
    const res = await http.request(url, {
      method: 'GET',
      headers: { accept: 'text/plain', 'user-agent': 'posthorn (MTA-STS)' },
    });
    if (!res.ok) return res;
    // RFC 8461 §3.3: "HTTP 3xx redirects MUST NOT be followed"; only 200 is a policy.
    if (res.status !== 200) {
      res.discard();
      return { ok: false, reason: 'http_status', detail: `HTTP ${res.status}` };
    }
    const type = String(res.headers['content-type'] ?? '');
    if (type.split(';')[0]!.trim().toLowerCase() !== 'text/plain') {
      res.discard();
      return { ok: false, reason: 'content_type', detail: `content-type ${type || 'missing'}` };
    }
    const body = await res.readBody(maxBody);
    if (!body.ok) return body;
    return { ok: true, text: body.body.toString('utf8') };
  }

  function remember(domain: string, entry: CacheEntry) {
    cache.delete(domain);
    cache.set(domain, entry);
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
  }

  function fromCache(entry: CacheEntry): MtaStsLookup {
    return { kind: 'policy', ...entry.policy, id: entry.id, cached: true };
  }

  async function resolve(domain: string): Promise<MtaStsLookup> {
    const t = now();
    const entry = cache.get(domain);
    const fresh = entry && entry.expiresAt > t ? entry : undefined;
    const answer = await options.txt(`_mta-sts.${domain}`);
    if (answer === 'temporary') {
      // RFC 8461 §5.1: a DNS failure does not void an unexpired cached policy.
      return fresh
        ? fromCache(fresh)
        : { kind: 'temporary', detail: `TXT _mta-sts.${domain}: temporary failure` };
    }
    const txt = parseStsTxt(answer === 'nxdomain' ? [] : answer);
    if (!txt.ok) {
      // A removed TXT record does not void a cached policy before it expires (RFC 8461
      // §8.3: domains withdraw a policy by publishing mode "none" under a new id).
      if (fresh) return fromCache(fresh);
      return {
        kind: 'none',
        reason: txt.reason === 'no_record' ? 'no_record' : 'invalid_record',
        detail: txt.detail,
      };
    }
    if (fresh && fresh.id === txt.id) return fromCache(fresh);

    const fetched = await fetchPolicy(domain);
    if (!fetched.ok) {
      // RFC 8461 §3.3 / §5.1: no fetchable policy → keep using an unexpired cached one,
      // otherwise deliver as if the domain had no MTA-STS.
      if (fresh) return fromCache(fresh);
      return { kind: 'none', reason: 'fetch_failed', detail: `${fetched.reason}: ${fetched.detail}` };
    }
    const parsed = parseStsPolicy(fetched.text);
    if (!parsed.ok) {
      if (fresh) return fromCache(fresh);
      return { kind: 'none', reason: 'invalid_policy', detail: parsed.detail };
    }
    remember(domain, { id: txt.id, policy: parsed.policy, expiresAt: now() + parsed.policy.maxAge * 1000 });
    return { kind: 'policy', ...parsed.policy, id: txt.id, cached: false };
  }

  return {
    lookup(rawDomain) {
      const domain = rawDomain.toLowerCase().replace(/\.$/, '');
      // Concurrent deliveries to one domain share one look-up (and one fetch).
      const running = inflight.get(domain);
      if (running) return running;
      const p = resolve(domain).finally(() => inflight.delete(domain));
      inflight.set(domain, p);
      return p;
    },
    get fetches() {
      return fetches;
    },
    close: () => http.close(),
  };
}

import type { LookupAddress, LookupOptions } from 'node:dns';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'undici';
import { classifyIp } from '../core/delivery/ip-class.js';

/**
 * HTTP(S) requests to URLs that strangers choose (an MTA-STS policy host named by a
 * recipient's DNS, a customer's webhook endpoint, an attachment URL), hardened so that
 * they cannot be turned against the node's own network (server-side request forgery):
 *
 * - an egress guard in the socket's `lookup` refuses loopback, private, link-local, CGNAT,
 *   metadata and other non-public addresses; it sits where the socket resolves, so the
 *   address checked is the address connected to (no window for DNS rebinding);
 * - no redirects: undici's `request` follows none unless a redirect interceptor is composed
 *   in, so a 3xx is handed back as a status for the caller to refuse;
 * - certificates are verified against the host name (tls.connect's default, kept explicit);
 * - connect, header and body timeouts; bodies are read incrementally up to a cap.
 */

/** A/AAAA look-up of a host name; throws when the name does not resolve. */
export type AddressLookup = (host: string) => Promise<readonly string[]>;

export interface GuardedHttpOptions {
  readonly addresses: AddressLookup;
  /** Connect, headers and body timeouts, ms. */
  readonly timeoutMs: number;
  /** Extra trust anchors, PEM (tests, private PKI). Replaces the default CA list when set. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** Tests only: let the guard pass loopback addresses (never private or link-local). */
  readonly allowLoopback?: boolean;
  /** Keep idle sockets for reuse (webhook endpoints are called often; policy hosts rarely). */
  readonly keepAlive?: boolean;
}

export type GuardedFailure = { ok: false; reason: 'egress_refused' | 'network'; detail: string };

export type BodyRead =
  | { ok: true; body: Buffer; truncated: boolean }
  | { ok: false; reason: 'too_large' | 'network'; detail: string };

export interface GuardedResponse {
  readonly ok: true;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /**
   * Reads the body up to `limit` bytes. Over the limit: `too_large`, or with `truncate`
   * the first `limit` bytes and `truncated: true` (the rest is discarded unread).
   */
  readBody(limit: number, mode?: { truncate: boolean }): Promise<BodyRead>;
  /** Drops the body unread (the socket is not reused). */
  discard(): void;
}

export interface GuardedRequestInit {
  readonly method: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Whole request, ms (defaults to the client's timeout). */
  readonly timeoutMs?: number;
}

export interface GuardedHttp {
  request(url: string, init: GuardedRequestInit): Promise<GuardedResponse | GuardedFailure>;
  close(): Promise<void>;
}

const EGRESS_REFUSED = 'EPOSTHORN_EGRESS_REFUSED';

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

export function describeError(err: unknown): string {
  const e = err as { code?: string; name?: string; message?: string };
  return [e.code ?? e.name, e.message].filter(Boolean).join(': ');
}

function isEgressRefusal(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.code === EGRESS_REFUSED) return true;
    e = e.cause as typeof e;
  }
  return false;
}

export function createGuardedHttp(options: GuardedHttpOptions): GuardedHttp {
  const allowed = (address: string) => {
    const cls = classifyIp(address);
    return cls === 'public' || (cls === 'loopback' && options.allowLoopback === true);
  };

  // net/tls call this instead of dns.lookup. Refuse the whole answer if any address is
  // non-public: a name that mixes public and internal addresses is an attack, not a setup.
  function guardedLookup(hostname: string, lookupOptions: LookupOptions, callback: LookupCallback) {
    options.addresses(hostname).then(
      (addresses) => {
        const family = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : 0;
        const usable = addresses.filter((a) => family === 0 || (a.includes(':') ? 6 : 4) === family);
        if (usable.length === 0 || !usable.every(allowed)) {
          const err: NodeJS.ErrnoException = new Error(
            `egress guard: ${hostname} resolves to ${addresses.join(', ') || 'nothing usable'}`,
          );
          err.code = usable.length === 0 ? 'ENOTFOUND' : EGRESS_REFUSED;
          callback(err, '');
          return;
        }
        const entries = usable.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
        if (lookupOptions.all) callback(null, entries);
        else callback(null, entries[0]!.address, entries[0]!.family);
      },
      (err: unknown) => {
        const e: NodeJS.ErrnoException = new Error(`resolving ${hostname}: ${describeError(err)}`);
        e.code = 'ENOTFOUND';
        callback(e, '');
      },
    );
  }

  const agent = new Agent({
    connect: {
      rejectUnauthorized: true,
      ...(options.ca ? { ca: options.ca as string | Buffer | (string | Buffer)[] } : {}),
      lookup: guardedLookup as never,
      timeout: options.timeoutMs,
    },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    // pipelining 0 = no keep-alive: a host fetched rarely gets no idle socket.
    ...(options.keepAlive ? {} : { pipelining: 0 }),
  });

  return {
    async request(url, init) {
      // net.connect skips `lookup` for a literal address, so a URL naming one is checked here.
      let host: string;
      try {
        host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      } catch {
        return { ok: false, reason: 'network', detail: `not a URL: ${url}` };
      }
      if (classifyIp(host) !== 'invalid' && !allowed(host)) {
        return {
          ok: false,
          reason: 'egress_refused',
          detail: `egress guard: ${host} is not a public address`,
        };
      }
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, {
          dispatcher: agent,
          method: init.method,
          headers: init.headers,
          body: init.body,
          signal: AbortSignal.timeout(init.timeoutMs ?? options.timeoutMs),
        });
      } catch (err) {
        return {
          ok: false,
          reason: isEgressRefusal(err) ? 'egress_refused' : 'network',
          detail: describeError(err),
        };
      }
      // Destroying an unfinished body makes undici emit an abort error; it is the outcome
      // asked for, so it is swallowed here.
      const discard = () => {
        res.body.on('error', () => {});
        res.body.destroy();
      };
      return {
        ok: true,
        status: res.statusCode,
        headers: res.headers,
        discard,
        async readBody(limit, mode) {
          const truncate = mode?.truncate === true;
          const declared = Number(res.headers['content-length'] ?? Number.NaN);
          if (declared > limit && !truncate) {
            discard();
            return { ok: false, reason: 'too_large', detail: `content-length ${declared} > ${limit}` };
          }
          const chunks: Buffer[] = [];
          let size = 0;
          try {
            for await (const chunk of res.body) {
              const buf = chunk as Buffer;
              if (size + buf.length > limit) {
                discard();
                if (!truncate) return { ok: false, reason: 'too_large', detail: `body over ${limit} bytes` };
                chunks.push(buf.subarray(0, limit - size));
                return { ok: true, body: Buffer.concat(chunks), truncated: true };
              }
              size += buf.length;
              chunks.push(buf);
            }
          } catch (err) {
            return { ok: false, reason: 'network', detail: describeError(err) };
          }
          return { ok: true, body: Buffer.concat(chunks), truncated: false };
        },
      };
    },
    close: () => agent.close(),
  };
}

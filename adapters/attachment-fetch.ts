import { classifyIp } from '../core/delivery/ip-class.js';
import type { GuardedHttp } from './guarded-http.js';

/** An attachment's bytes fetched from its URL, or why not (for the 422 that refuses the request). */
export type FetchedAttachment =
  | { readonly ok: true; readonly body: Buffer; readonly contentType: string | null }
  | { readonly ok: false; readonly problem: string };

export interface AttachmentFetcher {
  /** One GET of `url`: at most `maxBytes` of body within `timeoutMs` (connect to last byte). */
  fetch(url: string, limits: { maxBytes: number; timeoutMs: number }): Promise<FetchedAttachment>;
}

// A media type as RFC 9110 §8.3.1 writes it (type "/" subtype, parameters), nothing else.
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;[\x20-\x7e]*)?$/;

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || classifyIp(host.replace(/^\[|\]$/g, '')) === 'loopback';
}

/**
 * Fetches attachment URLs (Resend's `attachments[].path`) through the guarded HTTP client:
 * no private, loopback, link-local or metadata addresses (checked at connect time), no
 * redirects, a size and a time cap. https only; plain http only to a loopback host and
 * only with the tests' POSTHORN_ALLOW_LOOPBACK, so that a customer's URL never travels
 * unencrypted.
 */
export function createAttachmentFetcher(o: { http: GuardedHttp; allowLoopback: boolean }): AttachmentFetcher {
  return {
    async fetch(url, limits) {
      const parsed = new URL(url);
      if (parsed.protocol !== 'https:' && !(o.allowLoopback && isLoopbackHost(parsed.hostname))) {
        return { ok: false, problem: 'only https URLs are fetched' };
      }
      const res = await o.http.request(url, {
        method: 'GET',
        headers: { accept: '*/*', 'user-agent': 'posthorn-attachment-fetch' },
        timeoutMs: limits.timeoutMs,
      });
      if (!res.ok) {
        switch (res.reason) {
          case 'egress_refused':
            return { ok: false, problem: 'the host is not a public address' };
          case 'network':
            return { ok: false, problem: `the fetch failed (${res.detail})` };
        }
      }
      if (res.status !== 200) {
        res.discard();
        const why = res.status >= 300 && res.status < 400 ? ', redirects are not followed' : '';
        return { ok: false, problem: `the server answered HTTP ${res.status}${why}` };
      }
      const body = await res.readBody(limits.maxBytes);
      if (!body.ok) {
        switch (body.reason) {
          case 'too_large':
            return { ok: false, problem: `it is larger than ${limits.maxBytes} bytes` };
          case 'network':
            return { ok: false, problem: `the fetch failed (${body.detail})` };
        }
      }
      const type = String(res.headers['content-type'] ?? '').trim();
      return { ok: true, body: body.body, contentType: MEDIA_TYPE.test(type) ? type : null };
    },
  };
}

import { classifyIp } from '../delivery/ip-class.js';

export type EndpointCheck = { ok: true; url: string } | { ok: false; message: string };

/**
 * Whether a webhook endpoint URL may be stored: `https` with a host, no credentials;
 * plain `http` only to a loopback host when `allowLoopback` (tests). A literal address must
 * be public. Names are checked again where the connection is made (adapters/guarded-http.ts),
 * since what a name resolves to can change.
 */
export function checkEndpoint(raw: unknown, allowLoopback: boolean): EndpointCheck {
  if (typeof raw !== 'string' || raw.trim() === '')
    return { ok: false, message: 'The `endpoint` must be a URL.' };
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { ok: false, message: 'The `endpoint` is not a valid URL.' };
  }
  if (url.username || url.password)
    return { ok: false, message: 'The `endpoint` must not carry credentials.' };
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!host) return { ok: false, message: 'The `endpoint` must name a host.' };
  const cls = classifyIp(host);
  const loopback = cls === 'loopback' || host === 'localhost';
  if (url.protocol === 'http:') {
    if (!(allowLoopback && loopback)) return { ok: false, message: 'The `endpoint` must be an https URL.' };
  } else if (url.protocol !== 'https:') {
    return { ok: false, message: 'The `endpoint` must be an https URL.' };
  }
  if (cls !== 'invalid' && cls !== 'public' && !(allowLoopback && cls === 'loopback'))
    return { ok: false, message: `The \`endpoint\` must not point at a ${cls} address.` };
  if (host === 'localhost' && !allowLoopback)
    return { ok: false, message: 'The `endpoint` must not point at a loopback address.' };
  return { ok: true, url: url.toString() };
}

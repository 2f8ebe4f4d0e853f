import { openSmtpSession, type SmtpSessionParams, type SmtpTimeouts } from '../adapters/smtp-session.js';
import type { OpenSession } from './session.js';

/**
 * The dispatcher's OpenSession over SMTP (adapters/smtp-session.ts): a connection from the
 * target's source IP to the target's MX address, greeting with that IP's EHLO name
 * (RFC 5321 §4.1.1.1), under the target's TLS mode.
 */
export function createSessionOpener(deps: {
  /** The port every MX host is reached on: 25 (POSTHORN_SMTP_PORT; tests use others). */
  readonly port: number;
  readonly timeouts: SmtpTimeouts;
  /** The EHLO name the routing tables give a pool's IP; null when they give none. */
  readonly ehloNameOf: (ip: string) => string | null;
  /** The node's host name: the EHLO name of an IP without one and of the default source address. */
  readonly hostname: string;
  /** Trust anchors for `verify` (MTA-STS enforce, RFC 8461 §4.2); undefined: Node's bundled CAs. */
  readonly ca: SmtpSessionParams['ca'];
  /** The node's live SMTP trace. */
  readonly trace?: SmtpSessionParams['trace'];
}): OpenSession {
  return (target) =>
    openSmtpSession({
      address: target.address,
      mxHost: target.mxHost,
      port: deps.port,
      // Null: no pool applies and the OS picks the source address.
      localAddress: target.ip,
      ehloName: (target.ip === null ? null : deps.ehloNameOf(target.ip)) ?? deps.hostname,
      timeouts: deps.timeouts,
      // The TLS mode is part of the session's identity in the dispatcher (egress/session.ts).
      tls: target.tls,
      ca: target.tls === 'verify' ? deps.ca : undefined,
      trace: deps.trace,
    });
}

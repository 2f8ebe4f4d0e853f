import type { SmtpSendResult } from '../core/delivery/smtp-result.js';
import type { Envelope, SessionFailure, TlsMode } from '../core/delivery/smtp-session-types.js';

/**
 * What the dispatcher needs from an SMTP connection, and nothing more: it holds no SMTP code
 * and is tested with fakes. adapters/smtp-session.ts implements it over nodemailer.
 */
export interface SessionHandle {
  /**
   * False once the connection saw anything but clean replies: a protocol error, a timeout,
   * a drop, a 421 (RFC 5321 §3.8: the server is closing). Such a session is never reused.
   */
  readonly healthy: boolean;
  /** One transaction: MAIL FROM, RCPT TO…, DATA (pipelined when offered, RFC 2920). */
  send(envelope: Envelope, message: Buffer): Promise<SmtpSendResult>;
  /**
   * Readies a kept connection for the next transaction: RSET (RFC 5321 §4.1.1.5) when the
   * last one left transaction state behind, nothing when it ended with a 2xx to its dot.
   * Resolves false when the server did not answer RSET with 250. A connection dropped while
   * idle then fails the next send with `session_failed` before any message byte.
   */
  reset(): Promise<boolean>;
  /** QUIT, then close; resolves once the socket is gone (bounded by the adapter). */
  close(): Promise<void>;
}

/** Where a session goes: from a source IP to one address of one MX host. */
export interface SessionTarget {
  /**
   * Source IP to bind; null when no pool applies and the OS picks the machine's default
   * source address.
   */
  readonly ip: string | null;
  readonly mxHost: string;
  /** The MX host's resolved address. */
  readonly address: string;
  readonly tls: TlsMode;
}

export type OpenResult = { ok: true; handle: SessionHandle } | { ok: false; failure: SessionFailure };

export type OpenSession = (target: SessionTarget) => Promise<OpenResult>;

/** The dispatcher's clock and timers, injectable for tests. */
export interface Clock {
  now(): number;
  /** `background`: the timer must not keep the process alive (idle-connection expiry). */
  setTimeout(fn: () => void, ms: number, background?: boolean): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms, background) {
    const t = setTimeout(fn, ms);
    if (background) t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

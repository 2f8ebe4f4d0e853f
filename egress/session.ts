import type { SmtpSendResult } from '../core/delivery/smtp-result.js';

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
   * RSET (RFC 5321 §4.1.1.5): clears any transaction state before reuse and proves the
   * connection is still alive. Resolves false when the server did not answer 250.
   */
  reset(): Promise<boolean>;
  /** QUIT, then close; resolves once the socket is gone (bounded by the adapter). */
  close(): Promise<void>;
}

export interface Envelope {
  readonly mailFrom: string;
  readonly recipients: readonly string[];
}

/**
 * How a session uses STARTTLS (RFC 3207). Part of the session's identity: a connection set
 * up under one mode is never reused for a delivery that asked for another.
 * - opportunistic: when offered, any certificate, plaintext when it fails (RFC 7435);
 * - plaintext: never tried (a host whose handshake failed recently);
 * - encrypt: required, any certificate, never plaintext (tenant require-TLS; Postfix
 *   smtp_tls_security_level = encrypt);
 * - verify: required, certificate valid for the MX host name, never plaintext (MTA-STS
 *   enforce, RFC 8461 §4.2).
 */
export type TlsMode = 'opportunistic' | 'plaintext' | 'encrypt' | 'verify';

/** Where a session goes: from a source IP to one address of one MX host. */
export interface SessionTarget {
  /** Source IP to bind. */
  readonly ip: string;
  readonly mxHost: string;
  /** The MX host's resolved address. */
  readonly address: string;
  readonly tls: TlsMode;
}

/** The session could not be set up: refused, timed out, 421/554 greeting, EHLO refused. */
export type SessionFailure = Extract<SmtpSendResult, { kind: 'session_failed' }>;

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

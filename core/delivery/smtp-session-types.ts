import type { SmtpSendResult } from './smtp-result.js';

/**
 * The words of one SMTP session, shared by the adapter that speaks SMTP
 * (adapters/smtp-session.ts) and the dispatcher that keeps sessions (egress/session.ts).
 * Declared here, in core/, because adapters may not import egress/ (docs/architecture.md,
 * "Layers").
 */

/** One transaction's envelope: the reverse path and the forward paths (RFC 5321 §3.3). */
export interface Envelope {
  readonly mailFrom: string;
  readonly recipients: readonly string[];
  /** Whose transaction this is, for the live SMTP trace (adapters/live-smtp-trace.ts). */
  readonly trace?: TraceTag;
}

export interface TraceTag {
  readonly tenantId: string;
  readonly messageId: string;
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

/** The session could not be set up: refused, timed out, 421/554 greeting, EHLO refused. */
export type SessionFailure = Extract<SmtpSendResult, { kind: 'session_failed' }>;

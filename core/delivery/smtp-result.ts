import type { SmtpPhase, SmtpReply } from './smtp-reply.js';

/** What one SMTP session reported, phase by phase (see adapters/smtp-session.ts). */
export interface TlsInfo {
  readonly version: string;
  readonly cipher: string;
}

export type RcptResult =
  | { readonly address: string; readonly accepted: true }
  | { readonly address: string; readonly accepted: false; readonly reply: SmtpReply | null };

export type SmtpSendResult =
  /** No transaction was started: the host did not take the connection or the session set-up. */
  | { kind: 'session_failed'; phase: SmtpPhase; reply: SmtpReply | null; detail: string }
  /** MAIL FROM was refused; no recipient was tried. */
  | {
      kind: 'mail_rejected';
      reply: SmtpReply | null;
      tls: TlsInfo | null;
      /** See `tlsFallback` on `transaction`. */
      tlsFallback?: string;
    }
  /** Recipients were tried; `data` says what happened to the message for the accepted ones. */
  | {
      kind: 'transaction';
      recipients: readonly RcptResult[];
      data: DataResult;
      tls: TlsInfo | null;
      /**
       * Present when the server offered STARTTLS but the upgrade failed (refused, handshake
       * error or timeout) and the session went on in plaintext, RFC 7435 opportunistic mode:
       * what failed. Absent when TLS was used or never offered.
       */
      tlsFallback?: string;
    };

export type DataResult =
  | { kind: 'accepted'; reply: SmtpReply }
  | { kind: 'rejected'; reply: SmtpReply | null }
  /**
   * The connection broke, timed out or broke protocol while sending data or waiting for the
   * final reply.
   */
  | {
      kind: 'interrupted';
      detail: string;
      /**
       * True once the whole message including the terminating CRLF.CRLF had been handed to the
       * socket: the server may have taken it, so a retry may duplicate it (RFC 5321 §6.1,
       * RFC 1047). False: the dot never left, the server cannot have accepted the message.
       * Absent (older producers) means unknown: treat as true.
       */
      afterDot?: boolean;
    }
  /** No recipient was accepted, so no DATA was sent. */
  | { kind: 'not_sent' };

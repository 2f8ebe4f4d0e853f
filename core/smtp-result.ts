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
  | { kind: 'mail_rejected'; reply: SmtpReply | null; tls: TlsInfo | null }
  /** Recipients were tried; `data` says what happened to the message for the accepted ones. */
  | {
      kind: 'transaction';
      recipients: readonly RcptResult[];
      data: DataResult;
      tls: TlsInfo | null;
    };

export type DataResult =
  | { kind: 'accepted'; reply: SmtpReply }
  | { kind: 'rejected'; reply: SmtpReply | null }
  /** The connection broke or timed out while sending data or waiting for the final reply. */
  | { kind: 'interrupted'; detail: string }
  /** No recipient was accepted, so no DATA was sent. */
  | { kind: 'not_sent' };

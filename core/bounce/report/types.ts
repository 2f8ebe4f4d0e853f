/**
 * Types of the bounce-report parser: what it reads (a mail reduced to plain data by
 * adapters/mail-parser.ts) and what it returns (a typed union of report kinds).
 */
import type { SmtpPhase } from '../../delivery/smtp-reply.js';
import type { Classification } from '../taxonomy.js';

/** One top-level header: lowercased name, value with folding removed. */
export interface MailHeader {
  readonly name: string;
  readonly value: string;
}

/** One MIME leaf that is not part of the inline text: its type and decoded text. */
export interface MailPart {
  /** Lowercased media type without parameters, e.g. "message/delivery-status". */
  readonly contentType: string;
  /** Content after transfer decoding and charset decoding (raw for message/*). */
  readonly text: string;
  readonly filename?: string | null;
  /**
   * An attached message (message/rfc822, message/global) parsed in turn, one level deep: the
   * returned message, or a delivery report that a filtering gateway wrapped in its own notice.
   */
  readonly message?: ParsedMailLike;
}

/** A parsed mail as plain data: everything the pure report parser reads. */
export interface ParsedMailLike {
  readonly headers: readonly MailHeader[];
  /** Decoded Subject (RFC 2047 words decoded), '' when absent. */
  readonly subject: string;
  /** Every inline text part joined (HTML turned to text where there is no plain part). */
  readonly text: string;
  readonly parts: readonly MailPart[];
}

/** RFC 3464 §2.3.3 action values. */
export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

/** One recipient of a delivery report, as found, before classification. */
export interface FoundRecipient {
  readonly recipient: string;
  readonly action: DsnAction;
  /** RFC 3463 status as reported (DSN Status field, or a code found in the text). */
  readonly status: string | null;
  /** Human or SMTP diagnostic text (Diagnostic-Code without its type, or the MTA's words). */
  readonly diagnostic: string;
  readonly replyCode: number | null;
  readonly remoteMta: string | null;
  /** The SMTP command the remote reply answered, when the report says. */
  readonly phase: SmtpPhase;
  /**
   * The Diagnostic-Code's diagnostic-type (RFC 3464 §2.3.6), lowercased: "smtp" for a remote
   * reply, "x-unix" for a local delivery program (Postfix local/pipe, Sendmail prog mailer).
   */
  readonly diagnosticType?: string | null;
  /** The recipient is a program ("|/path", RFC 3464 X-Actual-Recipient or Final-Recipient). */
  readonly toProgram?: boolean;
  /**
   * The report comes from the server that keeps the recipient's mailbox, in its own layout
   * (an Exchange or Domino NDR, IMail): where it quotes no remote reply, its words about the
   * address are its own directory's verdict.
   */
  readonly firstHand?: boolean;
}

export interface RecipientReport extends FoundRecipient {
  readonly originalRecipient: string | null;
  readonly classification: Classification;
  /**
   * Ids of the rules consulted to reach the classification, its own last (reply rules of
   * core/bounce/rules/ and the report rules of classify-recipient.ts).
   */
  readonly rules: readonly string[];
}

export interface DsnReport {
  readonly kind: 'dsn';
  /** Which parser read it: "rfc3464" or a format id ("exim", "qmail", …). */
  readonly format: string;
  readonly recipients: readonly RecipientReport[];
  readonly originalMessageId?: string;
  /** To/Cc of the returned message, when it came back. */
  readonly originalRecipientHeaders?: readonly string[];
}

export interface ComplaintReport {
  readonly kind: 'complaint';
  /** RFC 5965 §3.1 Feedback-Type: abuse, fraud, virus, other, not-spam, opt-out, … */
  readonly feedbackType: string;
  /** Complaining recipient: Original-Rcpt-To, else the reported message's To. */
  readonly recipient: string | null;
  /** Every complaining recipient (an ARF report may list several Original-Rcpt-To). */
  readonly recipients: readonly string[];
  readonly originalMailFrom: string | null;
  readonly sourceIp: string | null;
  readonly userAgent: string | null;
  readonly originalMessageId?: string;
  readonly classification: Classification;
}

export interface AutoReplyReport {
  readonly kind: 'auto_reply';
  /** The mailbox that answered (the autoreply's From). */
  readonly recipient: string | null;
  /** What gave it away, e.g. "auto-submitted: auto-replied". */
  readonly reason: string;
  readonly classification: Classification;
}

export interface NotBounceReport {
  readonly kind: 'not_bounce';
}

export type ReportResult = DsnReport | ComplaintReport | AutoReplyReport | NotBounceReport;

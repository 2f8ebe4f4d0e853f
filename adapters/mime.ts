import MailComposer from 'nodemailer/lib/mail-composer';

/** An attachment as composed into the message; `contentId` makes it inline (`cid:`). */
export interface MimeAttachment {
  readonly filename: string | null;
  readonly content: Buffer;
  readonly contentType: string | null;
  readonly contentId: string | null;
}

export interface ComposeInput {
  readonly from: { name: string | null; address: string };
  readonly to: readonly string[];
  readonly cc: readonly string[] | null;
  readonly replyTo: readonly string[] | null;
  readonly subject: string;
  readonly html: string | null;
  readonly text: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly attachments: readonly MimeAttachment[];
  readonly messageId: string;
  readonly date: Date;
}

/**
 * Builds the RFC 5322 message once, at accept time, with nodemailer's MailComposer:
 * CRLF line ends, header folding and encoded words, quoted-printable or base64 bodies so
 * that no line exceeds 998 octets (RFC 5322 §2.1.1). Bcc is never written into headers.
 */
/**
 * One line end per line break: a bare CR (or CRLF) in a body becomes LF before composing,
 * which the composer writes as CRLF. A bare CR on the wire is forbidden (RFC 5321 §2.3.8)
 * and would leave the message unsignable.
 */
const normalizeLineEnds = (s: string | null) => (s === null ? undefined : s.replace(/\r\n?/g, '\n'));

export async function composeMime(input: ComposeInput): Promise<Buffer> {
  const composer = new MailComposer({
    from: input.from.name ? { name: input.from.name, address: input.from.address } : input.from.address,
    to: [...input.to],
    cc: input.cc ? [...input.cc] : undefined,
    replyTo: input.replyTo ? [...input.replyTo] : undefined,
    subject: input.subject,
    html: normalizeLineEnds(input.html),
    text: normalizeLineEnds(input.text),
    headers: { ...input.headers },
    attachments: input.attachments.map((a) => ({
      filename: a.filename ?? undefined,
      content: a.content,
      contentType: a.contentType ?? undefined,
      cid: a.contentId ?? undefined,
    })),
    messageId: input.messageId,
    date: input.date,
    newline: '\r\n',
    // Content comes only from the request body: never read local files or fetch URLs
    // while composing, or a request could read the node's files or reach its network.
    disableFileAccess: true,
    disableUrlAccess: true,
    xMailer: false,
  });
  return composer.compile().build();
}

/** The Date field as the composer writes it (RFC 5322 §3.3 date-time, in UTC). */
export const formatDateField = (date: Date) => date.toUTCString().replace(/GMT/, '+0000');

/**
 * The message with its Date field set to `date` (RFC 5322 §3.6.1: "the date and time at
 * which the creator of the message indicated that the message was complete and ready to
 * enter the mail delivery system"): a scheduled message is ready at its send time, not
 * when it was accepted. Only the top-level header is touched; a message without a Date
 * field gets one in front.
 */
export function withDate(mime: Buffer, date: Date): Buffer {
  const end = mime.indexOf('\r\n\r\n');
  const headerEnd = end === -1 ? mime.length : end + 2;
  const header = mime.subarray(0, headerEnd).toString('latin1');
  const field = `Date: ${formatDateField(date)}\r\n`;
  // The field and its folded continuation lines (RFC 5322 §2.2.3).
  const existing = /^Date:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/im;
  const next = existing.test(header) ? header.replace(existing, field) : field + header;
  return Buffer.concat([Buffer.from(next, 'latin1'), mime.subarray(headerEnd)]);
}

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

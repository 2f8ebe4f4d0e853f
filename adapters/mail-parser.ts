/**
 * Raw message bytes → the plain structure core/bounce/report reads (ParsedMailLike).
 * Thin wrapper over mailparser's simpleParser; no policy here. Options matter:
 * - keepDeliveryStatus: mailparser otherwise folds message/delivery-status into the text
 *   body, and the report parser needs its raw RFC 3464 fields;
 * - ignoreEmbedded: mailparser otherwise parses an inline message/rfc822 into the text,
 *   losing the returned message's headers (Message-ID, To) that reports are matched by.
 * Every other leaf (text/rfc822-headers, message/feedback-report, text attachments) comes
 * back as an attachment; its bytes are decoded with the part's charset.
 */
import { simpleParser } from 'mailparser';
import type { MailHeader, MailPart, ParsedMailLike } from '../core/bounce/report/types.js';

function decode(content: Buffer, charset: string | undefined): string {
  if (charset) {
    try {
      return new TextDecoder(charset.toLowerCase()).decode(content);
    } catch {
      // Unknown charset label: fall through to UTF-8 with replacement characters.
    }
  }
  return new TextDecoder('utf-8').decode(content);
}

function charsetOf(headers: Map<string, unknown>): string | undefined {
  const ct = headers.get('content-type') as { params?: Record<string, string> } | undefined;
  return ct?.params?.charset;
}

/** Parses raw message bytes; throws on input mailparser cannot read at all. */
export async function parseMail(raw: Buffer | string): Promise<ParsedMailLike> {
  const m = await simpleParser(raw, {
    keepDeliveryStatus: true,
    ignoreEmbedded: true,
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
  });
  const headers: MailHeader[] = (m.headerLines ?? []).map((h) => {
    const colon = h.line.indexOf(':');
    const value = colon >= 0 ? h.line.slice(colon + 1) : '';
    return { name: h.key.toLowerCase(), value: value.replace(/\r?\n[ \t]+/g, ' ').trim() };
  });
  const parts: MailPart[] = m.attachments.map((a) => {
    // A malformed header ("text/plain charset=…" without ';') leaves parameters in the type.
    const type = (a.contentType ?? 'application/octet-stream').toLowerCase().split(/[\s;]/)[0]!;
    const charset = type.startsWith('text/') ? charsetOf(a.headers as Map<string, unknown>) : undefined;
    return { contentType: type, text: decode(a.content, charset), filename: a.filename ?? null };
  });
  return { headers, subject: m.subject ?? '', text: m.text ?? '', parts };
}

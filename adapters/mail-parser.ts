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

// A Content-Type whose parameters go on in a line that is not folded (no leading white
// space, RFC 5322 §2.2.3): 'Content-Type: multipart/alternative;\nboundary="…"'. Mailers
// read that line as a broken field and lose the boundary, and with it every part inside.
const UNFOLDED_PARAM = /^(Content-Type:[^\r\n]*;[ \t]*\r?\n)(?=[A-Za-z][A-Za-z0-9_-]*\*?[ \t]*=)/gim;

/** Folds Content-Type parameter lines that were written at the margin. */
export function refoldContentType(raw: string): string {
  return raw.replace(UNFOLDED_PARAM, '$1\t');
}

/** The body of a raw message (everything after the first blank line), read as UTF-8. */
function rawBody(raw: Buffer | string): string {
  const s = typeof raw === 'string' ? raw : raw.toString('latin1');
  const m = /\r?\n\r?\n/.exec(s);
  if (!m) return '';
  const at = m.index + m[0].length;
  // latin1 maps bytes 1:1 to characters, so `at` is also the byte offset.
  return typeof raw === 'string' ? s.slice(at) : new TextDecoder('utf-8').decode(raw.subarray(at));
}

/** The top-level header block and the body of a raw message (as latin1 text). */
function splitRaw(s: string): { head: string; body: string } {
  const m = /\r?\n\r?\n/.exec(s);
  return m ? { head: s.slice(0, m.index), body: s.slice(m.index) } : { head: s, body: '' };
}

/**
 * A multipart whose declared boundary never appears in the body (the boundary was rewritten in
 * the header only, by an anonymiser or a broken gateway): the header with the boundary the
 * body does use, if one "--token" line recurs there, or null.
 */
export function fixTopBoundary(raw: string): string | null {
  const { head, body } = splitRaw(raw);
  const declared = /\bboundary\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(head);
  if (!declared) return null;
  const value = declared[1] ?? declared[2] ?? '';
  if (body.includes(`--${value}`)) return null;
  const counts = new Map<string, number>();
  for (const m of body.matchAll(/^--([^\s]{1,200}?)(?:--)?[ \t]*\r?$/gm)) {
    counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
  }
  const found = [...counts].find(([, n]) => n >= 2)?.[0];
  if (found === undefined) return null;
  const fixed =
    head.slice(0, declared.index) + `boundary="${found}"` + head.slice(declared.index + declared[0].length);
  return fixed + body;
}

async function parseOnce(input: Buffer | string): Promise<ParsedMailLike> {
  const m = await simpleParser(input, {
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

function isEmpty(m: ParsedMailLike): boolean {
  return m.text.trim() === '' && m.parts.length === 0;
}

/** Back to the caller's type: a string stays a string, bytes stay bytes (latin1 is 1:1). */
function asInput(raw: Buffer | string, text: string): Buffer | string {
  return typeof raw === 'string' ? text : Buffer.from(text, 'latin1');
}

/**
 * Parses raw message bytes; throws on input mailparser cannot read at all. Mail that
 * mailparser reads as empty (neither text nor parts) because its MIME structure is broken is
 * repaired where the body shows how (Content-Type parameters at the margin, a boundary the
 * body does not use); failing that, the raw body is the text: the report is still in there.
 */
export async function parseMail(raw: Buffer | string): Promise<ParsedMailLike> {
  const source = typeof raw === 'string' ? raw : raw.toString('latin1');
  const repaired = refoldContentType(source);
  const input = repaired === source ? raw : asInput(raw, repaired);
  const first = await parseOnce(input);
  if (!isEmpty(first)) return first;
  const fixed = fixTopBoundary(repaired);
  if (fixed !== null) {
    const second = await parseOnce(asInput(raw, fixed));
    if (!isEmpty(second)) return second;
  }
  return { ...first, text: rawBody(input) };
}

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

// ISO-2022-JP (RFC 1468) announces itself: 7-bit text with ESC $ B / ESC $ @ (JIS X 0208) and
// ESC ( B / ESC ( J back to ASCII. Japanese MTAs (Domino, Notes, carriers) write it into parts
// that declare no charset, such as a message/delivery-status Diagnostic-Code. Only 7-bit
// content is read so: 8-bit bytes say it is something else (UTF-8 around a quoted escape).
function isIso2022Jp(content: Buffer): boolean {
  let jis = false;
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!;
    if (b > 0x7f) return false;
    // ESC $ @ or ESC $ B: a switch to JIS X 0208.
    if (b === 0x1b && content[i + 1] === 0x24 && (content[i + 2] === 0x40 || content[i + 2] === 0x42))
      jis = true;
  }
  return jis;
}

function decode(content: Buffer, charset: string | undefined): string {
  const label = charset?.toLowerCase();
  if ((label === undefined || label === 'us-ascii' || label === 'ascii') && isIso2022Jp(content)) {
    try {
      return new TextDecoder('iso-2022-jp').decode(content);
    } catch {
      // No ICU support for the label: read it as UTF-8 below.
    }
  }
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

// Media types of an attached whole message (RFC 2046 §5.2.1, RFC 6532 §3.7).
const MESSAGE_TYPES: ReadonlySet<string> = new Set(['message/rfc822', 'message/global']);

/**
 * Parses raw message bytes once. `depth` 0 is the received mail: an attached message in it
 * (the returned message, or a report a filtering gateway wrapped in its own notice) is parsed
 * too, one level deep, into MailPart.message.
 */
async function parseOnce(input: Buffer | string, depth = 0): Promise<ParsedMailLike> {
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
  const parts: MailPart[] = [];
  for (const a of m.attachments) {
    // A malformed header ("text/plain charset=…" without ';') leaves parameters in the type.
    const type = (a.contentType ?? 'application/octet-stream').toLowerCase().split(/[\s;]/)[0]!;
    const charset = type.startsWith('text/') ? charsetOf(a.headers as Map<string, unknown>) : undefined;
    const part: MailPart = {
      contentType: type,
      text: decode(a.content, charset),
      filename: a.filename ?? null,
    };
    if (depth === 0 && MESSAGE_TYPES.has(type)) {
      try {
        parts.push({ ...part, message: await parseOnce(a.content, depth + 1) });
        continue;
      } catch {
        // An attached message mailparser cannot read: keep its raw text only.
      }
    }
    parts.push(part);
  }
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

// An mbox "From_" line (RFC 4155): "From <sender> <asctime date>", e.g.
// "From MAILER-DAEMON  Thu Jul  2 12:05:05 2020".
const MBOX_FROM =
  /^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d\d:\d\d(?::\d\d)? (?:\S+ )?\d{4}\s*$/;

/**
 * The messages of an mbox file (RFC 4155: each begins with a "From_" line), without their
 * "From_" lines; any other input as the one message it is. Mailbox files hold several
 * bounces, each a report of its own.
 */
export function splitMbox(raw: Buffer): Buffer[] {
  const s = raw.toString('latin1');
  const first = s.split(/\r?\n/, 1)[0] ?? '';
  if (!MBOX_FROM.test(first)) return [raw];
  const out: Buffer[] = [];
  let start = -1;
  let at = 0;
  for (const line of s.split(/(?<=\n)/)) {
    // RFC 4155 wants an empty line before each "From_" line, but writers do not all add one
    // (a MIME closing boundary right above it): the strict date form is what tells it from
    // text, and mbox writers quote a body line starting "From " as ">From ".
    if (MBOX_FROM.test(line.replace(/\r?\n$/, ''))) {
      if (start >= 0) out.push(raw.subarray(start, at));
      start = at + line.length;
    }
    at += line.length;
  }
  if (start >= 0) out.push(raw.subarray(start));
  return out.filter((m) => m.toString('latin1').trim() !== '');
}

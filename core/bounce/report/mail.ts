import type { MailPart, ParsedMailLike } from './types.js';

/** First value of a top-level header (name in any case), or null. */
export function header(mail: ParsedMailLike, name: string): string | null {
  const n = name.toLowerCase();
  for (const h of mail.headers) if (h.name === n) return h.value;
  return null;
}

/** Every value of a top-level header. */
export function headers(mail: ParsedMailLike, name: string): string[] {
  const n = name.toLowerCase();
  return mail.headers.filter((h) => h.name === n).map((h) => h.value);
}

/** Parts of one of the given media types, in order. */
export function partsOf(mail: ParsedMailLike, ...types: string[]): MailPart[] {
  return mail.parts.filter((p) => types.includes(p.contentType));
}

/** The text parts (inline text first, then text/plain attachments) as one string. */
export function allText(mail: ParsedMailLike): string {
  const extra = mail.parts.filter((p) => p.contentType === 'text/plain').map((p) => p.text);
  return [mail.text, ...extra].filter((t) => t.trim() !== '').join('\n');
}

/**
 * The header section of a submitted message as its fields, byte for byte: each field keeps
 * its own lines (folding included), so that a message whose fields are filtered or added to
 * is otherwise exactly what the client sent, body untouched (RFC 5322 §2.2, §2.2.3).
 * Strings here are latin1 ("binary"): one character per octet, so nothing is re-encoded.
 */
export interface HeaderField {
  /** The name as written. */
  readonly name: string;
  /** The name lower-cased, for comparisons. */
  readonly key: string;
  /** The whole field with its line ends, continuation lines included. */
  readonly raw: string;
}

export type HeaderSplit =
  | { readonly ok: true; readonly fields: readonly HeaderField[]; readonly body: string }
  | { readonly ok: false; readonly problem: string };

// RFC 5322 §3.6.8: field name is printable US-ASCII except colon.
const FIELD = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/;

/**
 * Splits a message (latin1) into header fields and the rest: the empty line that ends the
 * header section and the body after it (empty when there is no body, RFC 5322 §3.5).
 */
export function splitHeader(message: string): HeaderSplit {
  const fields: HeaderField[] = [];
  let at = 0;
  while (at < message.length) {
    const lineEnd = message.indexOf('\n', at);
    const next = lineEnd === -1 ? message.length : lineEnd + 1;
    const line = message.slice(at, next);
    if (line === '\r\n' || line === '\n') return { ok: true, fields, body: message.slice(at) };
    if (line.startsWith(' ') || line.startsWith('\t')) {
      const last = fields.pop();
      if (!last) return { ok: false, problem: 'the message starts with a continuation line' };
      fields.push({ ...last, raw: last.raw + line });
    } else {
      const m = FIELD.exec(line);
      if (!m) return { ok: false, problem: `a header line is not a field: "${line.slice(0, 40).trim()}"` };
      fields.push({ name: m[1]!, key: m[1]!.toLowerCase(), raw: line });
    }
    at = next;
  }
  return { ok: true, fields, body: '' };
}

/** The field's value unfolded (RFC 5322 §2.2.3), without the name and the colon. */
export function fieldValue(field: HeaderField): string {
  const colon = field.raw.indexOf(':');
  return field.raw
    .slice(colon + 1)
    .replace(/\r?\n(?=[ \t])/g, '')
    .replace(/\r?\n$/, '')
    .trim();
}

/** The message again: `fields` in order, then the body as it was. */
export function joinHeader(fields: readonly HeaderField[], body: string): string {
  return fields.map((f) => f.raw).join('') + (body === '' ? '\r\n' : body);
}

/** A new field, one line (the caller keeps it under 998 octets, RFC 5322 §2.1.1). */
export function newField(name: string, value: string): HeaderField {
  return { name, key: name.toLowerCase(), raw: `${name}: ${value}\r\n` };
}

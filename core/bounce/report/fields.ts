/**
 * RFC 822-style field blocks, as used by message/delivery-status (RFC 3464 §2.1) and
 * message/feedback-report (RFC 5965 §3): "Name: value" lines, continuation lines start
 * with white space, groups separated by blank lines.
 */

export interface Field {
  /** Lowercased field name. */
  readonly name: string;
  /** Value with folding removed and white space trimmed. */
  readonly value: string;
}

export type FieldGroup = readonly Field[];

const FIELD_LINE = /^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$/;

/** Splits a field block into groups (per-message fields, then one per recipient). */
export function parseFieldGroups(text: string): FieldGroup[] {
  const groups: Field[][] = [];
  let current: Field[] = [];
  let last: { name: string; value: string } | null = null;
  const flush = (): void => {
    if (last !== null) current.push({ name: last.name, value: last.value.trim() });
    last = null;
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      flush();
      if (current.length > 0) groups.push(current);
      current = [];
      continue;
    }
    if (/^[ \t]/.test(line) && last !== null) {
      last.value += ` ${line.trim()}`;
      continue;
    }
    const m = FIELD_LINE.exec(line);
    flush();
    if (m) last = { name: m[1]!.toLowerCase(), value: m[2]! };
  }
  flush();
  if (current.length > 0) groups.push(current);
  return groups;
}

/** First value of `name` (lowercase) in a group, or null. */
export function fieldValue(group: FieldGroup, name: string): string | null {
  for (const f of group) if (f.name === name) return f.value;
  return null;
}

/** Unfolds a header block into fields (one group). */
export function parseHeaderBlock(text: string): Field[] {
  const end = text.search(/\r?\n\r?\n/);
  const head = end >= 0 ? text.slice(0, end) : text;
  return parseFieldGroups(head).flat();
}

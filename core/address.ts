/**
 * Mailbox parsing for API input: `addr@example.com`, `Name <addr@example.com>` or
 * `"Name, Inc." <addr@example.com>` (RFC 5322 §3.4, the forms Resend accepts).
 * Limits from RFC 5321 §4.5.3.1: local part 64 octets, path 256 (254 for the address).
 */
export interface Mailbox {
  readonly name: string | null;
  /** The address with the domain lowercased. */
  readonly address: string;
  readonly local: string;
  readonly domain: string;
}

export type MailboxParse = { ok: true; mailbox: Mailbox } | { ok: false; error: string };

// Dot-atom local part (RFC 5322 §3.2.3 atext) or a quoted string without controls.
const LOCAL =
  /^(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*")$/;
// LDH labels (RFC 1035 §2.3.1, RFC 5890 A-labels included), at least two labels.
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const CONTROL = /[\r\n\0]/;

export function hasHeaderBreakingChars(value: string): boolean {
  return CONTROL.test(value);
}

export function parseAddress(text: string): MailboxParse {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return { ok: false, error: 'must look like local@domain' };
  const local = text.slice(0, at);
  const domain = text.slice(at + 1).toLowerCase();
  if (local.length > 64)
    return { ok: false, error: 'local part longer than 64 octets (RFC 5321 §4.5.3.1.1)' };
  if (text.length > 254) return { ok: false, error: 'address longer than 254 octets (RFC 5321 §4.5.3.1.3)' };
  if (!LOCAL.test(local)) return { ok: false, error: 'invalid local part' };
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return { ok: false, error: 'invalid domain' };
  return { ok: true, mailbox: { name: null, address: `${local}@${domain}`, local, domain } };
}

/** Parses `Name <addr>` or a bare address. The display name may be quoted. */
export function parseMailbox(input: string): MailboxParse {
  if (hasHeaderBreakingChars(input)) return { ok: false, error: 'contains CR, LF or NUL' };
  const text = input.trim();
  const angle = /^(.*?)\s*<([^<>]+)>$/.exec(text);
  if (!angle) {
    return parseAddress(text);
  }
  const rawName = angle[1]!.trim();
  const parsed = parseAddress(angle[2]!.trim());
  if (!parsed.ok) return parsed;
  let name: string | null = rawName.length > 0 ? rawName : null;
  if (name?.startsWith('"') && name.endsWith('"') && name.length >= 2) {
    name = name.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return { ok: true, mailbox: { ...parsed.mailbox, name } };
}

/**
 * Envelope recipients by their (lower-cased) domain, in first-seen order: one SMTP
 * transaction serves one recipient domain.
 */
export function groupByDomain(addresses: Iterable<string>): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const address of addresses) {
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    groups.set(domain, [...(groups.get(domain) ?? []), address]);
  }
  return groups;
}

import { type AddressObject, simpleParser } from 'mailparser';

/** A mailbox as a header names it, display name decoded (RFC 2047). */
export interface HeaderMailbox {
  readonly name: string;
  readonly address: string;
}

/** What the API stores of a message submitted whole over SMTP, read with mailparser. */
export interface SubmittedMailView {
  readonly subject: string | null;
  readonly text: string | null;
  readonly html: string | null;
  readonly from: readonly HeaderMailbox[];
  readonly sender: readonly HeaderMailbox[];
  readonly to: readonly HeaderMailbox[];
  readonly cc: readonly HeaderMailbox[];
  readonly replyTo: readonly HeaderMailbox[];
  /** The From field uses group syntax (RFC 5322 §3.4), which names no sender. */
  readonly fromHasGroup: boolean;
}

function mailboxes(field: AddressObject | AddressObject[] | undefined): HeaderMailbox[] {
  const out: HeaderMailbox[] = [];
  const walk = (list: { address?: string; name: string; group?: unknown[] }[]) => {
    for (const a of list) {
      if (a.group) walk(a.group as typeof list);
      else if (a.address) out.push({ name: a.name, address: a.address });
    }
  };
  for (const o of field === undefined ? [] : Array.isArray(field) ? field : [field]) walk(o.value);
  return out;
}

function hasGroup(field: AddressObject | AddressObject[] | undefined): boolean {
  return (field === undefined ? [] : Array.isArray(field) ? field : [field]).some((o) =>
    o.value.some((a) => a.group !== undefined),
  );
}

/** Parses the message once: decoded subject, bodies and address fields. Throws on input mailparser rejects. */
export async function readSubmittedMail(raw: Buffer): Promise<SubmittedMailView> {
  const m = await simpleParser(raw, { skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true });
  const sender = m.headers.get('sender') as AddressObject | undefined;
  return {
    subject: m.subject ?? null,
    text: m.text ?? null,
    html: typeof m.html === 'string' ? m.html : null,
    from: mailboxes(m.from),
    sender: mailboxes(sender),
    to: mailboxes(m.to),
    cc: mailboxes(m.cc),
    replyTo: mailboxes(m.replyTo),
    fromHasGroup: hasGroup(m.from),
  };
}

/**
 * Last resort for a mail that is a bounce (by its sender or subject) in no known layout:
 * recipients are the addresses in the explanation that are neither the reporting
 * system's nor the original sender's; each gets the paragraph that names it (and the
 * next one when that paragraph is the address alone). Without any address there, the
 * returned message's To header names the recipient and the whole explanation is the
 * diagnostic.
 */
import { addressesIn, cleanAddress, isSystemAddress, originalPart } from '../text.js';
import type { FoundRecipient } from '../types.js';
import { found } from './build.js';
import type { FormatInput, TextFormat } from './types.js';

// Paragraphs that carry a reason: a reply code, a status or the usual words.
const REASON_WORDS =
  /(?<![\d.])[245]\d\d[ \-:]|\b[245]\.\d{1,3}\.\d{1,3}\b|error|fail|reject|refus|unknown|denied|unable|invalid|not (?:exist|found|allowed|permitted|accepted)|full|quota|disabled|expired|timed? ?out/i;
// Paragraphs every bounce has whatever went wrong.
const BOILERPLATE =
  /please (?:verify|check|contact|do not reply)|this is an automatically generated|do not reply to this|has been (?:returned|attached)|original (?:mail|message) (?:headers|follows)|attachment contains/i;

function paragraphs(text: string): string[] {
  return text
    .split(/\r?\n[ \t]*\r?\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

// A line that starts with an address ('"user@example.org":', '<user@example.org>', 'user@…').
const LEADING_ADDRESS = /^\s*["'<]?([^\s"'<>:,]+@[^\s"'<>:,]+?)["'>]?(?=[\s:,]|$)/;

/**
 * A paragraph listing several recipients, each starting a line of its own and followed by
 * its reason (Zoho: "a@b Invalid Address, ERROR_CODE :550, …"; GMX: '"a@b":' then the SMTP
 * error lines): the lines from each address to the next, by address. Null when fewer than
 * two recipients start lines.
 */
function segmentsByAddress(paragraph: string): Map<string, string> | null {
  const segs = new Map<string, string[]>();
  let cur: string[] | null = null;
  for (const l of paragraph.split(/\r?\n/)) {
    const m = LEADING_ADDRESS.exec(l);
    const a = m ? cleanAddress(m[1]!).toLowerCase() : null;
    if (a !== null && !segs.has(a)) {
      cur = [l];
      segs.set(a, cur);
    } else cur?.push(l);
  }
  if (segs.size < 2) return null;
  return new Map([...segs].map(([a, ls]) => [a, ls.join('\n')]));
}

/**
 * The paragraphs of an explanation that give a reason (a reply code, a status or the usual
 * words) without naming an address, boilerplate left out: the reporting MTA's own summary
 * ("The user(s) account is disabled.").
 */
export function reasonParagraphs(head: string): string[] {
  return paragraphs(head).filter(
    (p) => REASON_WORDS.test(p) && !BOILERPLATE.test(p) && addressesIn(p).length === 0,
  );
}

export function genericRecipients(
  { head, text, mail }: FormatInput,
  exclude: readonly string[],
): FoundRecipient[] {
  const skip = new Set(exclude.map((e) => e.toLowerCase()));
  // Exim, Google and others name the failed recipients in a header.
  const failed = mail.headers
    .filter((h) => h.name === 'x-failed-recipients')
    .flatMap((h) => addressesIn(h.value));
  if (failed.length > 0) return failed.map((a) => found(a, head));
  const ps = paragraphs(head);
  const out: FoundRecipient[] = [];
  ps.forEach((p, i) => {
    // Header-like lines (From:, Received:) in the explanation name other parties.
    const body = p
      .split(/\r?\n/)
      .filter(
        (l) =>
          !/^\s*(?:From|Sender|Reply-To|Received|Return-Path|Message-ID|Date|Subject|Sent|by|for)\b\s*:?/i.test(
            l,
          ),
      )
      .join('\n');
    const segments = segmentsByAddress(body);
    for (const a of addressesIn(body)) {
      if (skip.has(a.toLowerCase()) || isSystemAddress(a) || out.some((o) => o.recipient === a)) continue;
      const alone = body.replace(/[<>\s*:]/g, '') === a;
      const diag = alone ? `${ps[i - 1] ?? ''} ${ps[i + 1] ?? ''}` : (segments?.get(a.toLowerCase()) ?? p);
      out.push(found(a, diag));
    }
  });
  // One recipient: the reason may sit anywhere in the explanation, not only next to it.
  if (out.length === 1) {
    const reasons = ps.filter((p) => REASON_WORDS.test(p) && !BOILERPLATE.test(p));
    return [found(out[0]!.recipient, reasons.length > 0 ? reasons.join(' ') : head)];
  }
  if (out.length > 0) return out;
  const orig = originalPart(text) || mail.parts.find((x) => /rfc822/.test(x.contentType))?.text || '';
  const to = /^To:[ \t]*(.+(?:\r?\n[ \t]+.+)*)/im.exec(orig);
  const rcpt = to ? addressesIn(to[1]!).find((a) => !skip.has(a.toLowerCase())) : undefined;
  if (rcpt) out.push(found(rcpt, head));
  return out;
}

export const generic: TextFormat = {
  id: 'generic',
  detect: () => true,
  parse: (input) => genericRecipients(input, []),
};

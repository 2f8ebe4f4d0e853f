/**
 * Sendmail's transcript bounce without a delivery-status part (V5/V8 sendmail, and the
 * human part many DSN-less gateways copy):
 *
 *      ----- Transcript of session follows -----
 *   ... while talking to mx.example.org.:
 *   >>> RCPT To:<user@example.org>
 *   <<< 550 5.1.1 <user@example.org>... User unknown
 *   550 <user@example.org>... User unknown
 *
 * Also "421 example.com (smtp)... Deferred: Connection timed out" lines, which name a host,
 * not a recipient: the recipient then comes from the returned message.
 */
import { addressesIn } from '../text.js';
import type { FoundRecipient } from '../types.js';
import { found, lines } from './build.js';
import type { TextFormat } from './types.js';

const ADDR_DOTS = /^(?:[245]\d\d[ -](?:[245]\.\d+\.\d+ )?)?<?([^\s<>]+@[^\s<>]+?)>?\.\.\.\s*(.*)$/;
// "... while talking to mx.example.org.:" (V8) or "While talking to example.org:" (V5).
const SECTION = /^(?:\.\.\.\s*)?while talking to\s+\S+?:?$/i;
// An SMTP reply code inside a recipient's own line ("554 <a@b>... 550 Host unknown").
const INNER_REPLY = /(?<![\w.])[245]\d\d(?:[ -]|$)/;

/** Recipients of sendmail's "The following addresses had … errors" list, with their reasons. */
function listed(ls: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  let i = ls.findIndex((l) => /^\s*-+\s*The following addresses had\b.*-+\s*$/i.test(l));
  if (i < 0) return out;
  for (i++; i < ls.length; i++) {
    const l = ls[i]!;
    if (l.trim() === '' || /^\s*-{3,}/.test(l)) break;
    const reason = /^\s+\(reason:\s*(.*)\)\s*$/i.exec(l);
    if (reason && out.length > 0) out[out.length - 1]![1] = reason[1]!;
    else if (/^\S/.test(l)) {
      const a = addressesIn(l)[0];
      // A line with more than the address carries the reason itself ("[Status: Error,
      // Address: <a@b>, ResponseCode 421, , Host not reachable.]").
      if (a) out.push([a, l.replace(/[<>[\]]/g, '').trim() === a ? '' : l.trim()]);
    }
  }
  return out;
}

interface Section {
  /** Server replies not tied to one recipient's RCPT TO (after MAIL FROM, DATA, QUIT, greeting). */
  readonly replies: string[];
}

export const sendmail: TextFormat = {
  id: 'sendmail',
  detect: ({ head }) => /^\s*-+\s*Transcript of session follows\s*-+/im.test(head),
  parse({ head, text }) {
    const ls = lines(head);
    const start = ls.findIndex((l) => /Transcript of session follows/i.test(l));
    const byRcpt = new Map<string, string[]>();
    // The "while talking to" section each recipient's own line was printed in.
    const sectionOf = new Map<string, Section>();
    let lastRcpt: string | null = null;
    // The recipient of the last ">>> RCPT To:" while its "<<<" answer may still follow, and the
    // recipients whose refusal answered their own RCPT TO (the command the reply answered).
    let rcptSent: string | null = null;
    const answeredRcpt = new Set<string>();
    let section: Section | null = null;
    const general: string[] = [];
    for (const l of ls.slice(start + 1)) {
      const t = l.trim();
      if (t === '' || /^-+\s*(?:Original|Unsent|Returned) message/i.test(t)) continue;
      if (/^-{3,}/.test(t)) break;
      if (SECTION.test(t)) {
        // A new SMTP session: replies from here on answer commands to this host.
        section = { replies: [] };
        lastRcpt = null;
        rcptSent = null;
        continue;
      }
      const rc = /^>>> RCPT To:\s*<?([^\s<>]+@[^\s<>]+)>?/i.exec(t);
      if (rc) {
        lastRcpt = rc[1]!;
        rcptSent = lastRcpt;
        if (!byRcpt.has(lastRcpt)) byRcpt.set(lastRcpt, []);
        continue;
      }
      if (t.startsWith('>>>')) {
        // Another command (MAIL From, DATA, QUIT): what follows answers it, not the last RCPT.
        general.push(t);
        lastRcpt = null;
        rcptSent = null;
        continue;
      }
      const ad = ADDR_DOTS.exec(t);
      if (ad) {
        const rcpt = ad[1]!;
        const d = byRcpt.get(rcpt) ?? [];
        d.push(t);
        byRcpt.set(rcpt, d);
        if (section && !sectionOf.has(rcpt)) sectionOf.set(rcpt, section);
        lastRcpt = rcpt;
        rcptSent = null;
        continue;
      }
      if (t.startsWith('<<<') && lastRcpt) {
        byRcpt.get(lastRcpt)!.push(t.replace(/^<<<\s*/, ''));
        if (rcptSent === lastRcpt) answeredRcpt.add(lastRcpt);
      } else {
        general.push(t.replace(/^<<<\s*/, ''));
        if (t.startsWith('<<<')) section?.replies.push(t.replace(/^<<<\s*/, ''));
      }
    }
    const out: FoundRecipient[] = [];
    for (const [rcpt, d] of byRcpt) {
      const phase = answeredRcpt.has(rcpt) ? ('rcpt' as const) : undefined;
      if (byRcpt.size === 1) {
        out.push(found(rcpt, [...d, ...general].join(' '), { phase }));
        continue;
      }
      // With several recipients, a recipient whose own line carries the server's reply
      // ("554 <a@b>... 550 Host unknown") or its RCPT TO answer keeps only that. One whose
      // line is only sendmail's summary ("554 <a@b>... Remote protocol error") takes the
      // replies of the session it was printed in ("While talking to x: >>> MAIL From:
      // <<< 501 ..."): that session's failure is what the summary is about.
      const own = d.some((x) => INNER_REPLY.test(ADDR_DOTS.exec(x)?.[2] ?? x));
      const sessionReplies = sectionOf.get(rcpt)?.replies ?? [];
      out.push(found(rcpt, (own ? d : [...sessionReplies, ...d]).join(' '), { phase }));
    }
    if (out.length === 0) {
      // "----- The following addresses had permanent fatal errors -----" lists the recipients,
      // each with "(reason: 550 …)"; the session transcript above tells the rest.
      for (const [rcpt, reason] of listed(ls)) out.push(found(rcpt, [reason, ...general].join(' ')));
    }
    if (out.length === 0 && general.length > 0) {
      const to = /^To:\s*(.+)$/im.exec(text.slice(head.length));
      const rcpt = to ? addressesIn(to[1]!)[0] : undefined;
      if (rcpt) out.push(found(rcpt, general.join(' ')));
    }
    return out;
  },
};

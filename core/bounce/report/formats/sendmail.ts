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

export const sendmail: TextFormat = {
  id: 'sendmail',
  detect: ({ head }) => /^\s*-+\s*Transcript of session follows\s*-+/im.test(head),
  parse({ head, text }) {
    const ls = lines(head);
    const start = ls.findIndex((l) => /Transcript of session follows/i.test(l));
    const byRcpt = new Map<string, string[]>();
    let lastRcpt: string | null = null;
    const general: string[] = [];
    for (const l of ls.slice(start + 1)) {
      const t = l.trim();
      if (t === '' || /^-+\s*(?:Original|Unsent|Returned) message/i.test(t)) continue;
      if (/^-{3,}/.test(t)) break;
      const rc = /^>>> RCPT To:\s*<?([^\s<>]+@[^\s<>]+)>?/i.exec(t);
      if (rc) {
        lastRcpt = rc[1]!;
        if (!byRcpt.has(lastRcpt)) byRcpt.set(lastRcpt, []);
        continue;
      }
      const ad = ADDR_DOTS.exec(t);
      if (ad) {
        lastRcpt = ad[1]!;
        const d = byRcpt.get(lastRcpt) ?? [];
        d.push(t);
        byRcpt.set(lastRcpt, d);
        continue;
      }
      if (t.startsWith('<<<') && lastRcpt) byRcpt.get(lastRcpt)!.push(t.replace(/^<<<\s*/, ''));
      else general.push(t.replace(/^<<<\s*/, ''));
    }
    const out: FoundRecipient[] = [];
    for (const [rcpt, d] of byRcpt) {
      // With several recipients, the session lines not tied to one ("While talking to x: >>>
      // DATA <<< 550 ...") belong to whichever talked to that host: a recipient whose own
      // line already gives a reason ("554 <a@b>... 550 Host unknown") keeps only that.
      const own = d.some((x) => (ADDR_DOTS.exec(x)?.[2] ?? x).trim() !== '');
      out.push(found(rcpt, (byRcpt.size > 1 && own ? d : [...d, ...general]).join(' ')));
    }
    if (out.length === 0 && general.length > 0) {
      const to = /^To:\s*(.+)$/im.exec(text.slice(head.length));
      const rcpt = to ? addressesIn(to[1]!)[0] : undefined;
      if (rcpt) out.push(found(rcpt, general.join(' ')));
    }
    return out;
  },
};

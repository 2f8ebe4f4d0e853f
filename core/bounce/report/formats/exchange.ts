/**
 * Microsoft Exchange 2000/2003 and Lotus/IMail-style "did not reach" reports:
 *
 *   Your message
 *     To: …
 *   did not reach the following recipient(s):
 *
 *   user@example.org on Thu, 29 Apr 2010 00:00:00 -0000
 *       The recipient name is not recognized
 *       MSEXCH:IMS:…
 */
import type { FoundRecipient } from '../types.js';
import { found, lines } from './build.js';
import type { TextFormat } from './types.js';

const START =
  /did not reach the following recipient\(?s?\)?|could not be delivered to the following recipients?|following recipient\(?s?\)? could not be reached/i;
const RCPT = /^\s*(?:<)?([^\s<>]+@[^\s<>]+?)>?(?:\s+on\s+.*|\s*:\s*(.*)|\s*)$/;

export const exchange: TextFormat = {
  id: 'exchange',
  detect: ({ head }) => START.test(head),
  parse({ head }) {
    const ls = lines(head);
    const i = ls.findIndex((l) => START.test(l));
    const out: FoundRecipient[] = [];
    let cur: { rcpt: string; diag: string[] } | null = null;
    const push = (): void => {
      if (cur) out.push(found(cur.rcpt, cur.diag.join(' '), { firstHand: true }));
      cur = null;
    };
    for (const l of ls.slice(i + 1)) {
      if (l.trim() === '') continue;
      const m = RCPT.exec(l);
      if (m && !/^\s{4,}/.test(l)) {
        push();
        cur = { rcpt: m[1]!, diag: m[2] ? [m[2]] : [] };
      } else if (cur) {
        cur.diag.push(l.trim());
      }
    }
    push();
    return out;
  },
};

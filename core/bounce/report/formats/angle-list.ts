/**
 * The "<address>: reason" list of qmail (qmail-send's bounce, "Hi. This is the
 * qmail-send program"), vpopmail, Yahoo, and Postfix's text-only bounce (bounce(8) without
 * a delivery-status part):
 *
 *   <user@example.org>:
 *   192.0.2.1 does not like recipient.
 *   Remote host said: 550 5.1.1 <user@example.org>... User Unknown
 *   Giving up on 192.0.2.1.
 *
 * One recipient per "<address>:" line; its reason runs to the next such line.
 */
import type { FoundRecipient } from '../types.js';
import { found, lines } from './build.js';
import type { TextFormat } from './types.js';

const RCPT_LINE = /^\s{0,2}<([^<>\s]+@[^<>\s]+)>\s*:?\s*(.*)$/;
const NOT_DIAG = /^(?:--- Below this line|Giving up on |Other MXes tried)/i;

export const angleList: TextFormat = {
  id: 'angle-list',
  detect: ({ head }) => lines(head).some((l) => RCPT_LINE.test(l) && /^\s{0,2}<[^>]+>\s*:/.test(l)),
  parse({ head, subject }) {
    const out: FoundRecipient[] = [];
    const ls = lines(head);
    const transient = /^(?:Warning|Delayed|Delivery delayed)/i.test(subject);
    let cur: { rcpt: string; diag: string[] } | null = null;
    const push = (): void => {
      if (cur) out.push(found(cur.rcpt, cur.diag.join(' '), { action: transient ? 'delayed' : 'failed' }));
      cur = null;
    };
    for (const l of ls) {
      const m = RCPT_LINE.exec(l);
      if (m && /^\s{0,2}<[^>]+>\s*:/.test(l)) {
        push();
        cur = { rcpt: m[1]!, diag: m[2] ? [m[2]] : [] };
        continue;
      }
      if (!cur) continue;
      if (l.trim() === '') continue;
      if (NOT_DIAG.test(l.trim())) continue;
      (cur as { diag: string[] }).diag.push(l.trim());
    }
    push();
    return out;
  },
};

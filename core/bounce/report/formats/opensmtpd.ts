/**
 * OpenSMTPD's bounce (smtpd/bounce.c): an indented explanation, then one line per
 * recipient at the margin, "address: reason", without angle brackets:
 *
 *       An error has occurred while attempting to deliver a message for
 *       the following list of recipients:
 *
 *   user@example.org: 550 5.1.1 <user@example.org>: Recipient address rejected: User unknown
 *   other@example.org: 552 5.2.2 <other@example.org>: Mailbox full
 *
 *       Below is a copy of the original message:
 *
 * and "A message is delayed for more than … for the following list of recipients:".
 */
import type { FoundRecipient } from '../types.js';
import { found, lines } from './build.js';
import type { TextFormat } from './types.js';

const START = /for\s+the\s+following\s+list\s+of\s+recipients:/i;
const RCPT_LINE = /^<?([^\s<>:]+@[^\s<>:]+?)>?:\s*(.*)$/;

export const opensmtpd: TextFormat = {
  id: 'opensmtpd',
  detect: ({ head }) => START.test(head),
  parse({ head }) {
    const at = head.search(START);
    const delayed = /\bis delayed\b|Delays have occurred/i.test(head.slice(0, at));
    const out: FoundRecipient[] = [];
    let cur: { rcpt: string; diag: string[] } | null = null;
    const push = (): void => {
      if (cur) out.push(found(cur.rcpt, cur.diag.join(' '), { action: delayed ? 'delayed' : 'failed' }));
      cur = null;
    };
    for (const l of lines(head.slice(at).replace(START, ''))) {
      if (/^\s+Below is a copy of the original message/i.test(l)) break;
      const m = RCPT_LINE.exec(l);
      if (m) {
        push();
        cur = { rcpt: m[1]!, diag: m[2] ? [m[2]] : [] };
      } else if (cur && /^\s+\S/.test(l)) {
        // A long reason wrapped onto indented lines.
        cur.diag.push(l.trim());
      } else {
        // A blank line ends the list entry; the notes after it are about the report.
        push();
      }
    }
    push();
    return out;
  },
};

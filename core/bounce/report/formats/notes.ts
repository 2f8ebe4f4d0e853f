/**
 * Lotus Notes / Domino plain bounce:
 *
 *   ------- Failure Reasons  --------
 *
 *   User not listed in public Name & Address Book
 *   user@example.org
 *
 *   ------- Returned Message --------
 */
import { addressesIn } from '../text.js';
import type { FoundRecipient } from '../types.js';
import { found, lines } from './build.js';
import type { TextFormat } from './types.js';

export const notes: TextFormat = {
  id: 'notes',
  detect: ({ text }) => /^-+\s*Failure Reasons\s*-+/im.test(text),
  parse({ text }) {
    const start = text.search(/^-+\s*Failure Reasons\s*-+/im);
    const body = text.slice(start).replace(/^[^\n]*\n/, '');
    const end = body.search(/^-+\s*Returned Message\s*-+/im);
    const block = end >= 0 ? body.slice(0, end) : body;
    const reason: string[] = [];
    const out: FoundRecipient[] = [];
    for (const l of lines(block)) {
      const t = l.trim();
      if (t === '') continue;
      const a = addressesIn(t);
      if (a.length > 0 && t.replace(/[<>]/g, '') === a[0])
        out.push(found(a[0]!, reason.join(' '), { firstHand: true }));
      else reason.push(t);
    }
    return out.length > 0 ? out : [];
  },
};

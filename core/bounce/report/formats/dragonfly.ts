/**
 * DragonFly Mail Agent (dma) bounce:
 *
 *   There was an error delivering your mail to <user@example.org>.
 *
 *   mx.example.org [192.0.2.1] did not like our RCPT TO:
 *   550 5.1.1 <user@example.org>: Recipient address rejected: User unknown
 *
 *   Message headers follow.
 */
import { found, lines } from './build.js';
import type { TextFormat } from './types.js';

const START = /There was an error delivering your mail to <([^<>\s]+)>/i;

export const dragonfly: TextFormat = {
  id: 'dragonfly',
  detect: ({ head }) => START.test(head),
  parse({ head }) {
    const m = START.exec(head)!;
    const after = head.slice(m.index + m[0].length);
    const diag = lines(after)
      .map((l) => l.trim())
      .filter((l) => l !== '' && l !== '.')
      .join(' ');
    return [found(m[1]!, diag)];
  },
};

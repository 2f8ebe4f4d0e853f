/**
 * Gmail's and Google Workspace's plain-text bounce (no delivery-status part in older
 * ones):
 *
 *   Delivery to the following recipient failed permanently:
 *
 *        user@example.org
 *
 *   Technical details of permanent failure:
 *   Google tried to deliver your message, but it was rejected by the server for the
 *   recipient domain example.org by mx.example.org. [192.0.2.1].
 *
 *   The error that the other server returned was:
 *   550 5.1.1 <user@example.org>... User Unknown
 *
 * and "Delivery to the following recipient has been delayed" / "…temporary failure".
 */
import type { FoundRecipient } from '../types.js';
import { found, lines } from './build.js';
import type { TextFormat } from './types.js';

const START =
  /Delivery to the following recipients? (?:failed permanently|has been delayed|failed|was unsuccessful)|Delivery to these recipients or groups is delayed|Your message wasn't delivered to|Message not delivered|Delivery incomplete/i;

export const gmail: TextFormat = {
  id: 'gmail',
  detect: ({ head }) =>
    /Delivery to the following recipients? (?:failed permanently|has been delayed)/i.test(head),
  parse({ head }) {
    const ls = lines(head);
    const i = ls.findIndex((l) => START.test(l));
    const delayed = /has been delayed|temporary failure/i.test(head);
    const rcpts: string[] = [];
    let k = i + 1;
    for (; k < ls.length; k++) {
      const t = ls[k]!.trim();
      if (t === '') {
        if (rcpts.length > 0) break;
        continue;
      }
      if (!/^\S+@\S+$/.test(t)) break;
      rcpts.push(t);
    }
    const diag = ls
      .slice(k)
      .filter((l) => !/^Technical details of|^-+ Original message/i.test(l.trim()))
      .join(' ');
    return rcpts.map((r): FoundRecipient => found(r, diag, { action: delayed ? 'delayed' : 'failed' }));
  },
};

/**
 * fml (a mailing list manager common in Japan) error notices, sent by the list's "-admin"
 * address with an X-MLServer: fml header. The address the problem is about ends a line in
 * angle brackets, and the Subject names the problem:
 *
 *   Subject: You sironeko@example.org are not member (neko-nyaan ML)
 *   You are not a member of this mailing list <neko-nyaan@example.org>.
 *
 *   Subject: Loop Alert: Duplicated Message-ID (neko ML)
 *   Duplicated Message-ID in <neko@example.co.jp>.
 */
import { header } from '../mail.js';
import { found, lines } from './build.js';
import type { TextFormat } from './types.js';

const ADDRESS_LINE = /<([^<>\s]+@[^<>\s]+)>\.?\s*$/;

export const fml: TextFormat = {
  id: 'fml',
  detect: ({ mail }) => /^fml\b/i.test(header(mail, 'x-mlserver') ?? ''),
  parse({ head, subject }) {
    const out = [];
    // The returned message follows "Original mail as follows:", indented.
    const end = head.search(/^Original mail as follows:/m);
    for (const l of lines(end > 0 ? head.slice(0, end) : head)) {
      const m = ADDRESS_LINE.exec(l);
      if (m) out.push(found(m[1]!, `${subject} ${l.trim()}`));
    }
    return out;
  },
};

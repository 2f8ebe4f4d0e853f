/**
 * Postfix's postmaster notice of an SMTP server error (smtpd, notify_classes): no list of
 * recipients, only the session, each line "In:" (client) or "Out:" (server), long lines
 * wrapped with deeper indentation:
 *
 *   Transcript of session follows.
 *
 *    Out: 220 mx.example.org ESMTP
 *    In:  RCPT TO:<user@example.org>
 *    Out: 250 2.1.5 Ok
 *    In:  DATA
 *    Out: 354 End data with <CR><LF>.<CR><LF>
 *    Out: 451 4.3.0 Error: queue file write error
 *
 * The recipients are those of RCPT TO; the error is the last 4xx/5xx "Out:" reply, and the
 * command it answered the last "In:" before it (after a 354, the end of the message data).
 */
import { addressesIn } from '../text.js';
import type { FoundRecipient } from '../types.js';
import { found, lines } from './build.js';
import type { TextFormat } from './types.js';

const START = /^\s*Transcript of session follows\.?\s*$/im;
const TURN = /^\s*(In|Out):\s+(.*)$/;

export const postfixTranscript: TextFormat = {
  id: 'postfix-transcript',
  detect: ({ head }) => START.test(head) && /^\s*Out:\s+[2-5]\d\d/m.test(head),
  parse({ head }) {
    const turns: { who: 'In' | 'Out'; text: string }[] = [];
    for (const l of lines(head.slice(head.search(START)))) {
      const m = TURN.exec(l);
      if (m) turns.push({ who: m[1] as 'In' | 'Out', text: m[2]!.trim() });
      else if (/^\s{3,}\S/.test(l) && turns.length > 0) turns[turns.length - 1]!.text += ` ${l.trim()}`;
    }
    const rcpts = turns
      .filter((t) => t.who === 'In' && /^RCPT TO:/i.test(t.text))
      .map((t) => addressesIn(t.text.replace(/\s+ORCPT=.*$/i, ''))[0])
      .filter((a): a is string => a !== undefined);
    let at = -1;
    for (let i = turns.length - 1; i >= 0; i--) {
      if (turns[i]!.who === 'Out' && /^[45]\d\d[ -]/.test(turns[i]!.text)) {
        at = i;
        break;
      }
    }
    if (at < 0 || rcpts.length === 0) return [];
    let command = '';
    for (let i = at - 1; i >= 0 && command === ''; i--) {
      const t = turns[i]!;
      if (t.who === 'Out' && /^354[ -]/.test(t.text)) command = 'end of DATA';
      else if (t.who === 'In') command = /^\S+(?: (?:FROM|TO):)?/i.exec(t.text)![0].replace(/:$/, '');
    }
    const reply = turns[at]!.text;
    const diag = command === '' ? reply : `${reply} (in reply to ${command} command)`;
    const action = reply.startsWith('4') ? 'delayed' : 'failed';
    return rcpts.map((r): FoundRecipient => found(r, diag, { action }));
  },
};

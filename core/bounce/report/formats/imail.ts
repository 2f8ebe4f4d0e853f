/**
 * Ipswitch IMail ("X-Mailer: <SMTP32 v…>", Subject "Undeliverable Mail"): one line per
 * recipient, the reason before the address, then the remote server's words where there were
 * any, introduced by the step that drew them:
 *
 *   Unknown user: user@example.com
 *   Invalid final delivery userid: user@example.com
 *   Delivery failed 20 attempts: user@example.com
 *
 *   undeliverable to user@example.org
 *   Additional RCPT TO generated following response:
 *   550 5.1.1 <user@example.org>... User unknown
 *
 * A reason line with no remote reply after it is IMail speaking of its own mailboxes.
 */
import type { SmtpPhase } from '../../../delivery/smtp-reply.js';
import { cleanAddress } from '../text.js';
import type { FoundRecipient } from '../types.js';
import { found, lines } from './build.js';
import type { TextFormat } from './types.js';

const REASON_LINE =
  /^(?!(?:From|To|Cc|Sender|Reply-To|Return-Path|Subject)\s*:)([A-Za-z][^:@]{2,80}):\s*<?([^\s<>@]+@[^\s<>]+?)>?\s*$/i;
const UNDELIVERABLE_TO = /^undeliverable\s+to\s+<?([^\s<>@]+@[^\s<>]+?)>?\s*$/i;

// The step of the SMTP session the remote reply that follows answered.
const STEPS: readonly [RegExp, SmtpPhase][] = [
  [/^(?:SMTP connection failed,|Unexpected connection response from server:)/i, 'connect'],
  [/^Unexpected response to EHLO\/HELO:/i, 'ehlo'],
  [/^Server response to MAIL FROM:/i, 'mail'],
  [/^Additional RCPT TO generated following response:/i, 'rcpt'],
  [/^(?:DATA command generated response:|Body of message generated response:)/i, 'data'],
];

export const imail: TextFormat = {
  id: 'imail',
  detect: ({ mail, subject }) =>
    mail.headers.some((h) => h.name === 'x-mailer' && h.value.trim().startsWith('<SMTP32 v')) ||
    /^Undeliverable Mail\s*$/.test(subject),
  parse({ head }) {
    const out: FoundRecipient[] = [];
    let cur: { rcpt: string; reason: string; remote: string[]; phase?: SmtpPhase } | null = null;
    let inRemote = false;
    const push = (): void => {
      if (cur === null) return;
      const diagnostic = [cur.reason, ...cur.remote].join(' ').trim();
      out.push(found(cur.rcpt, diagnostic, { phase: cur.phase, firstHand: cur.remote.length === 0 }));
      cur = null;
    };
    for (const l of lines(head)) {
      const t = l.trim();
      if (t === '') {
        inRemote = false;
        continue;
      }
      const to = UNDELIVERABLE_TO.exec(t);
      const reason = to ? null : REASON_LINE.exec(t);
      if (to || reason) {
        push();
        cur = to
          ? { rcpt: cleanAddress(to[1]!), reason: '', remote: [] }
          : { rcpt: cleanAddress(reason![2]!), reason: reason![1]!.trim(), remote: [] };
        inRemote = false;
        continue;
      }
      const step = STEPS.find(([re]) => re.test(t));
      if (step && cur) {
        cur.phase = step[1];
        inRemote = true;
        const rest = t.replace(step[0], '').trim();
        if (rest !== '') cur.remote.push(rest);
        continue;
      }
      if (inRemote && cur) cur.remote.push(t);
    }
    push();
    return out;
  },
};

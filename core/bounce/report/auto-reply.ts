/**
 * Automatic replies (RFC 3834 and the older conventions it documents): not bounces, so
 * they must never suppress anyone.
 * - Auto-Submitted: auto-replied (RFC 3834 §5);
 * - X-Autoreply / X-Autorespond / X-Auto-Response-Suppress with an automatic subject
 *   (Microsoft "Automatic reply:"), Precedence: auto_reply, X-Mailer: vacation;
 * - subjects such as "Out of Office", "Auto:", "Abwesenheitsnotiz", "自動応答".
 */
import { CATEGORY_SCOPE } from '../classify.js';
import { header } from './mail.js';
import { addressesIn } from './text.js';
import type { AutoReplyReport, ParsedMailLike } from './types.js';

const SUBJECT =
  /^(?:auto(?:matic)?[ -]?(?:reply|response|answer)|auto:|out of (?:the )?office|vacation|on vacation|away from (?:the )?office|abwesenheit|r[ée]ponse automatique|absence|risposta automatica|respuesta autom[aá]tica|自動応答|自动回复)/i;

/** An auto-reply report, or null. */
export function parseAutoReply(mail: ParsedMailLike): AutoReplyReport | null {
  const subject = mail.subject.trim();
  const as = header(mail, 'auto-submitted')?.toLowerCase() ?? '';
  let reason: string | null = null;
  if (/^auto-replied/.test(as)) reason = 'auto-submitted: auto-replied';
  else if (header(mail, 'x-autoreply') !== null || header(mail, 'x-autorespond') !== null)
    reason = 'x-autoreply';
  else if (/^auto_reply$/i.test(header(mail, 'precedence')?.trim() ?? '')) reason = 'precedence: auto_reply';
  else if (/vacation/i.test(header(mail, 'x-mailer') ?? '')) reason = 'x-mailer: vacation';
  else if (SUBJECT.test(subject)) reason = 'subject';
  if (reason === null) return null;
  const from = header(mail, 'from');
  return {
    kind: 'auto_reply',
    recipient: from ? (addressesIn(from)[0] ?? null) : null,
    reason,
    classification: {
      category: 'auto_reply',
      permanence: 'none',
      scope: CATEGORY_SCOPE.auto_reply,
      action: 'none',
      confidence: 'high',
      ruleId: `report.rfc3834.${reason.split(':')[0]}`,
    },
  };
}

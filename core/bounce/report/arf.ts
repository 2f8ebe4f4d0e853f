/**
 * Complaints. RFC 5965 (ARF): a multipart/report with a message/feedback-report part
 * (Feedback-Type, Original-Rcpt-To, …) and the reported message. Also the non-ARF forms
 * providers still send:
 * - Microsoft JMRP: a plain forward of the reported message carrying
 *   X-HmXmrOriginalRecipient (the complaining mailbox);
 * - Amazon SES "Complaint" notifications by e-mail (JSON);
 * - Apple Mail's one-click unsubscribe mail (X-Apple-Unsubscribe: true), an opt-out.
 */
import { CATEGORY_SCOPE, defaultAction } from '../classify.js';
import type { Classification } from '../taxonomy.js';
import { fieldValue, parseFieldGroups, parseHeaderBlock } from './fields.js';
import { sesNotification } from './formats/amazonses.js';
import { header, partsOf } from './mail.js';
import { addressesIn, cleanAddress } from './text.js';
import type { ComplaintReport, ParsedMailLike } from './types.js';

export const COMPLAINT: Classification = {
  category: 'complaint',
  permanence: 'permanent',
  scope: CATEGORY_SCOPE.complaint,
  action: defaultAction('complaint', 'permanent'),
  confidence: 'high',
  ruleId: 'report.arf',
};

function originalHeaders(mail: ParsedMailLike): {
  to: string | null;
  messageId: string | null;
  hmxmr: string | null;
} {
  const part = partsOf(mail, 'message/rfc822', 'text/rfc822-headers')[0];
  if (!part) return { to: null, messageId: null, hmxmr: null };
  const fields = parseHeaderBlock(part.text);
  const get = (n: string): string | null => fields.find((f) => f.name === n)?.value ?? null;
  const to = get('to');
  return {
    to: to === null ? null : (addressesIn(to)[0] ?? null),
    messageId: get('message-id'),
    hmxmr: get('x-hmxmroriginalrecipient'),
  };
}

function complaint(
  feedbackType: string,
  recipient: string | null,
  extra: Partial<Omit<ComplaintReport, 'kind' | 'feedbackType' | 'recipient'>> = {},
): ComplaintReport {
  return {
    kind: 'complaint',
    feedbackType,
    recipient,
    recipients: extra.recipients ?? (recipient === null ? [] : [recipient]),
    originalMailFrom: extra.originalMailFrom ?? null,
    sourceIp: extra.sourceIp ?? null,
    userAgent: extra.userAgent ?? null,
    ...(extra.originalMessageId ? { originalMessageId: extra.originalMessageId } : {}),
    classification: extra.classification ?? COMPLAINT,
  };
}

/** A complaint report, or null when the mail is none. */
export function parseComplaint(mail: ParsedMailLike): ComplaintReport | null {
  const fr = partsOf(mail, 'message/feedback-report')[0];
  const orig = originalHeaders(mail);
  if (fr) {
    const f = parseFieldGroups(fr.text).flat();
    // RFC 5965 §3.2: Original-Rcpt-To may appear once per recipient of the reported message.
    const all = f
      .filter((x) => x.name === 'original-rcpt-to' || x.name === 'removal-recipient')
      .map((x) => cleanAddress(x.value));
    const rcpt = all[0] ?? orig.to;
    return complaint(
      (fieldValue(f, 'feedback-type') ?? 'other').toLowerCase(),
      rcpt ? cleanAddress(rcpt) : null,
      {
        recipients: all.length > 0 ? all : rcpt ? [cleanAddress(rcpt)] : [],
        originalMailFrom: fieldValue(f, 'original-mail-from'),
        sourceIp: fieldValue(f, 'source-ip'),
        userAgent: fieldValue(f, 'user-agent'),
        originalMessageId: orig.messageId ?? undefined,
      },
    );
  }
  if (orig.hmxmr !== null) {
    return complaint('abuse', cleanAddress(orig.hmxmr), { originalMessageId: orig.messageId ?? undefined });
  }
  const ses = sesNotification(mail.text);
  if (ses?.notificationType === 'Complaint') {
    const c = (ses.complaint ?? {}) as {
      complainedRecipients?: { emailAddress?: string }[];
      complaintFeedbackType?: string;
    };
    const all = (c.complainedRecipients ?? []).map((x) => x.emailAddress ?? '').filter((x) => x !== '');
    return complaint(c.complaintFeedbackType ?? 'abuse', all[0] ?? null, { recipients: all });
  }
  if (/^\s*true\s*$/i.test(header(mail, 'x-apple-unsubscribe') ?? '')) {
    const to = header(mail, 'to');
    return complaint('opt-out', to ? (addressesIn(to)[0] ?? null) : null, {
      classification: { ...COMPLAINT, ruleId: 'report.apple-unsubscribe' },
    });
  }
  return null;
}

/**
 * Amazon SES notifications delivered by e-mail through SNS: the body is the JSON
 * notification (https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html),
 * "notificationType" Bounce or Delivery ("Complaint" is read by ../arf.ts).
 */
import type { FoundRecipient } from '../types.js';
import { found } from './build.js';
import type { TextFormat } from './types.js';

/**
 * The SES notification object in a text, or null: either the bare notification (SNS "raw
 * message delivery") or inside the SNS envelope's "Message" string.
 */
export function sesNotification(text: string): Record<string, unknown> | null {
  const direct = text.indexOf('{"notificationType"');
  if (direct >= 0) return balanced(text, direct);
  const envelope = text.search(/\{\s*"Type"\s*:\s*"Notification"/);
  if (envelope < 0) return null;
  const outer = balanced(text, envelope);
  if (outer === null || typeof outer.Message !== 'string') return null;
  try {
    const inner = JSON.parse(outer.Message) as unknown;
    return typeof inner === 'object' && inner !== null && 'notificationType' in inner
      ? (inner as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function balanced(text: string, at: number): Record<string, unknown> | null {
  // The JSON is one line, possibly folded by the mailer: take the balanced object.
  let depth = 0;
  let inStr = false;
  for (let i = at; i < text.length; i++) {
    const ch = text[i];
    if (inStr) {
      if (ch === '\\') i++;
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === '"') inStr = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) {
      try {
        return JSON.parse(text.slice(at, i + 1).replace(/\r?\n/g, '')) as Record<string, unknown>;
      } catch {
        return null;
      }
    }
  }
  return null;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export const amazonses: TextFormat = {
  id: 'amazonses',
  detect: ({ text }) => {
    const n = sesNotification(text);
    return n !== null && (n.notificationType === 'Bounce' || n.notificationType === 'Delivery');
  },
  parse({ text }) {
    const n = sesNotification(text)!;
    const out: FoundRecipient[] = [];
    if (n.notificationType === 'Delivery') {
      const d = obj(n.delivery);
      const recipients = Array.isArray(d.recipients) ? d.recipients : [];
      for (const r of recipients) {
        out.push(
          found(str(r), str(d.smtpResponse), { action: 'delivered', remoteMta: str(d.reportingMTA) || null }),
        );
      }
      return out;
    }
    const b = obj(n.bounce);
    const list = Array.isArray(b.bouncedRecipients) ? b.bouncedRecipients : [];
    for (const item of list) {
      const r = obj(item);
      const action = str(r.action) === 'delayed' || str(b.bounceType) === 'Transient' ? 'delayed' : 'failed';
      const diag = str(r.diagnosticCode).replace(/^\s*smtp\s*;\s*/i, '');
      out.push(found(str(r.emailAddress), diag, { action, status: str(r.status) || null }));
    }
    return out;
  },
};

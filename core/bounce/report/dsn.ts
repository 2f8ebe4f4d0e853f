/**
 * RFC 3464 delivery status notifications: the message/delivery-status body, read field by
 * field. Also finds such a block pasted into a text body (some gateways flatten the
 * multipart/report into text/plain).
 */
import { type FieldGroup, fieldValue, parseFieldGroups } from './fields.js';
import { cleanAddress, findReply, normalizeStatus, phaseOf, squash } from './text.js';
import type { DsnAction, FoundRecipient } from './types.js';

export interface DsnRecipientFields extends FoundRecipient {
  readonly originalRecipient: string | null;
}

export interface DeliveryStatus {
  readonly reportingMta: string | null;
  readonly recipients: DsnRecipientFields[];
}

const ACTIONS: readonly DsnAction[] = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'];

/** RFC 3464 §2.3.3; unknown or missing actions are read from the status class. */
export function actionOf(raw: string | null, status: string | null): DsnAction {
  const word =
    raw
      ?.trim()
      .toLowerCase()
      .split(/[\s(;]/)[0] ?? '';
  const found = ACTIONS.find((a) => a === word);
  if (found) return found;
  if (/^deliverable|^success/.test(word)) return 'delivered';
  if (status?.startsWith('2.')) return 'delivered';
  if (status?.startsWith('4.')) return 'delayed';
  return 'failed';
}

/** "smtp; 550 5.1.1 …" → "550 5.1.1 …" (RFC 3464 §2.3.6 diagnostic-type). */
export function stripType(v: string | null): string {
  if (v === null) return '';
  return squash(v.replace(/^\s*[A-Za-z][A-Za-z0-9-]*\s*;\s*/, ''));
}

function splitRecipients(group: FieldGroup): FieldGroup[] {
  // Some MTAs omit the blank line between recipients: start a new one at each Final-Recipient.
  const out: FieldGroup[] = [];
  let cur: FieldGroup[number][] = [];
  for (const f of group) {
    if (f.name === 'final-recipient' && cur.some((c) => c.name === 'final-recipient')) {
      out.push(cur);
      cur = [];
    }
    cur.push(f);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

// Status comments that only restate the class (RFC 3464 §2.3.4 allows a comment after the code).
const EMPTY_COMMENT =
  /^(?:(?:permanent|temporary|transient|persistent) (?:failure|error)|undefined status|other or undefined\b.*|failed|success)$/i;

/**
 * The comment after a Status code ("4.0.0 (example.net: host name lookup failure)"), when it
 * says more than the class; some MTAs put the reason there and give no Diagnostic-Code.
 */
export function statusComment(raw: string | null): string {
  const m = /^\s*[245]\.\d{1,3}\.\d{1,3}\s*\((.+)\)\s*$/.exec(raw ?? '');
  const c = m ? squash(m[1]!) : '';
  return EMPTY_COMMENT.test(c) ? '' : c;
}

/** Reads a message/delivery-status body. */
export function parseDeliveryStatus(text: string): DeliveryStatus {
  const groups = parseFieldGroups(text);
  let reportingMta: string | null = null;
  const recipients: DsnRecipientFields[] = [];
  for (const g of groups) {
    reportingMta ??= fieldValue(g, 'reporting-mta');
    for (const r of splitRecipients(g)) {
      const finalRcpt = fieldValue(r, 'final-recipient') ?? fieldValue(r, 'x-actual-recipient');
      const origRcpt = fieldValue(r, 'original-recipient');
      const addr = finalRcpt ?? origRcpt;
      if (addr === null) continue;
      const status = normalizeStatus(fieldValue(r, 'status'));
      const rawDiagnostic = fieldValue(r, 'diagnostic-code');
      const diagnostic = stripType(rawDiagnostic) || statusComment(fieldValue(r, 'status'));
      const diagnosticType =
        /^\s*([A-Za-z][A-Za-z0-9-]*)\s*;/.exec(rawDiagnostic ?? '')?.[1]?.toLowerCase() ?? null;
      const actual = fieldValue(r, 'x-actual-recipient') ?? '';
      const reply = findReply(diagnostic);
      const remote = fieldValue(r, 'remote-mta');
      recipients.push({
        recipient: cleanAddress(addr),
        originalRecipient: origRcpt === null ? null : cleanAddress(origRcpt),
        action: actionOf(fieldValue(r, 'action'), status),
        status,
        diagnostic,
        replyCode: reply.code,
        remoteMta: remote === null ? null : stripType(remote),
        phase: phaseOf(diagnostic),
        diagnosticType,
        toProgram:
          /^\s*(?:[A-Za-z0-9-]+\s*;)?\s*"?\|/.test(actual) || /^\s*(?:[A-Za-z0-9-]+\s*;)?\s*"?\|/.test(addr),
      });
    }
  }
  return { reportingMta, recipients };
}

/** A delivery-status block pasted into a text body, or null. */
export function findDeliveryStatusInText(text: string): string | null {
  const at = text.search(/^(?:Final|Original)-Recipient:/im);
  if (at < 0) return null;
  if (!/^Action:/im.test(text.slice(at)) && !/^Status:/im.test(text.slice(at))) return null;
  // Start at the per-message block when there is one just before.
  const before = text.slice(0, at);
  const rep = before.search(/^Reporting-MTA:[^\n]*\n(?:[^\n]+\n)*\s*$/im);
  const start = rep >= 0 ? rep : at;
  let body = text.slice(start);
  // Stop at the next MIME boundary or returned message.
  const end = body.search(/^--\S|^Content-Type:/im);
  if (end > 0) body = body.slice(0, end);
  return body;
}

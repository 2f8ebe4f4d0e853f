/**
 * parseReport: one received mail → what it reports. Order matters:
 * 1. complaints (RFC 5965 ARF and the non-ARF provider forms), since an ARF report is
 *    also a multipart/report;
 * 2. RFC 3464 DSNs (message/delivery-status, or such a block flattened into text), with
 *    the human-readable part used for recipients whose Diagnostic-Code is missing;
 * 3. the non-standard text bounces of common MTAs (formats/), first match wins;
 * 4. RFC 3834 automatic replies;
 * 5. anything else that presents itself as a bounce (sender, subject): generic reading;
 * 6. not a bounce.
 */
import { parseComplaint } from './arf.js';
import { parseAutoReply } from './auto-reply.js';
import { classifyRecipientTraced } from './classify-recipient.js';
import { type DsnRecipientFields, findDeliveryStatusInText, parseDeliveryStatus } from './dsn.js';
import { parseHeaderBlock } from './fields.js';
import { type FormatInput, genericRecipients, reasonParagraphs, TEXT_FORMATS } from './formats/index.js';
import { allText, header, partsOf } from './mail.js';
import { addressesIn, cutOriginal, findReply, originalPart, phaseOf, squash } from './text.js';
import type { DsnReport, FoundRecipient, ParsedMailLike, RecipientReport, ReportResult } from './types.js';

export { classifyRecipient, classifyRecipientTraced, REPORT_RULE_SOURCES } from './classify-recipient.js';
export type * from './types.js';

const BOUNCE_SENDER =
  /mailer-daemon|post_?master|mail delivery|mail administrator|mmsc ndr|system administrator|delivery subsystem|\bmaildaemon\b/i;
const BOUNCE_SUBJECT =
  /undeliver|undelivered|delivery (?:status notification|failure|failed|problem|notification|report)|returned mail|failure notice|mail delivery|non[- ]?delivery|could not be delivered|not be delivered|unable to deliver|mail system error|delivery error|returned to sender|message not delivered|mail failure|nicht zustellbar|unzustellbar|rejected|bounce|error/i;

// The explanation itself says a message was not delivered (for reports from ordinary senders).
const BOUNCE_TEXT =
  /could not be delivered to|was not delivered to|undeliverable|delivery (?:has )?failed|unable to deliver|permanent (?:fatal )?error|not (?:be )?delivered to the following/i;

function formatInput(mail: ParsedMailLike): FormatInput {
  const text = allText(mail);
  return { mail, text, head: cutOriginal(text), subject: mail.subject, from: header(mail, 'from') ?? '' };
}

function originalInfo(
  mail: ParsedMailLike,
  text: string,
): Pick<DsnReport, 'originalMessageId' | 'originalRecipientHeaders'> {
  const part = partsOf(
    mail,
    'message/rfc822',
    'text/rfc822-headers',
    'message/global',
    'message/global-headers',
  )[0];
  const source = part?.text ?? originalPart(text);
  if (source === '') return {};
  const fields = parseHeaderBlock(source.replace(/^\s+/, ''));
  const id = fields.find((f) => f.name === 'message-id')?.value;
  const rcpts = fields.filter((f) => f.name === 'to' || f.name === 'cc').flatMap((f) => addressesIn(f.value));
  return {
    ...(id ? { originalMessageId: id.trim() } : {}),
    ...(rcpts.length > 0 ? { originalRecipientHeaders: rcpts } : {}),
  };
}

function report(
  format: string,
  found: readonly FoundRecipient[],
  mail: ParsedMailLike,
  input: FormatInput,
): DsnReport {
  const recipients: RecipientReport[] = found.map((r) => {
    const { classification, trail } = classifyRecipientTraced(r, input.head);
    return {
      originalRecipient: (r as Partial<DsnRecipientFields>).originalRecipient ?? null,
      ...r,
      classification,
      rules: trail,
    };
  });
  return { kind: 'dsn', format, recipients, ...originalInfo(mail, input.text) };
}

/** Text-format recipients of a mail (the first format that finds any). */
function textRecipients(input: FormatInput): { format: string; found: FoundRecipient[] } | null {
  for (const f of TEXT_FORMATS) {
    if (!f.detect(input)) continue;
    const found = f.parse(input).filter((r) => r.recipient !== '');
    if (found.length > 0) return { format: f.id, found };
  }
  return null;
}

/**
 * Fills a DSN recipient's missing diagnostic from the human-readable part: the text
 * formats' reading of it for the same address, else the explanation when there is a
 * single recipient.
 */
function withHumanText(
  r: DsnRecipientFields,
  fromText: readonly FoundRecipient[],
  single: boolean,
  head: string,
): DsnRecipientFields {
  const same =
    fromText.find((t) => t.recipient.toLowerCase() === r.recipient.toLowerCase()) ??
    (single ? fromText[0] : undefined);
  if (r.diagnostic !== '' && findReply(r.diagnostic).code !== null) {
    // The human part may still say which command the reply answered ("in reply to end of DATA").
    const phase = same !== undefined && same.phase !== 'unknown' ? same.phase : phaseOf(head);
    const withPhase = r.phase === 'unknown' && phase !== 'unknown' ? { ...r, phase } : r;
    // "550-5.7.1 This message does not have …": a multiline reply (RFC 5321 §4.2.1) of which
    // the Diagnostic-Code kept only the first line; the transcript has all of it.
    const first = /^[245]\d\d-(?:[245]\.\d{1,3}\.\d{1,3} )?(.+)$/.exec(r.diagnostic)?.[1];
    if (first !== undefined && same !== undefined && same.diagnostic.length > r.diagnostic.length) {
      if (same.diagnostic.includes(first.trim())) return { ...withPhase, diagnostic: same.diagnostic };
    }
    return withPhase;
  }
  let diagnostic = same?.diagnostic ?? '';
  if (r.diagnostic === '' && single && diagnostic !== '') {
    // The DSN gives no Diagnostic-Code: the reporting MTA's own summary next to the reply
    // ("The user(s) account is disabled." above "<a@b>: 550 user unknown") says what it made
    // of it.
    const summary = reasonParagraphs(head).filter((p) => !diagnostic.includes(squash(p)));
    if (summary.length > 0) diagnostic = `${diagnostic} ${summary.join(' ')}`;
  }
  if (diagnostic === '' && r.diagnostic === '' && single)
    diagnostic = head.replace(/\s+/g, ' ').trim().slice(0, 2000);
  if (diagnostic === '' || diagnostic === r.diagnostic) return r;
  const merged = r.diagnostic === '' ? diagnostic : `${r.diagnostic} ${diagnostic}`;
  const reply = findReply(merged);
  return {
    ...r,
    diagnostic: merged,
    replyCode: r.replyCode ?? reply.code,
    phase: r.phase === 'unknown' ? phaseOf(merged) : r.phase,
  };
}

/**
 * The attached message is itself a delivery report: it carries a message/delivery-status
 * part (RFC 3464), or it comes from a mail system and its subject says the mail failed.
 */
function isDeliveryReport(mail: ParsedMailLike): boolean {
  if (partsOf(mail, 'message/delivery-status', 'message/global-delivery-status').length > 0) return true;
  return BOUNCE_SENDER.test(header(mail, 'from') ?? '') && BOUNCE_SUBJECT.test(mail.subject);
}

/**
 * A delivery report wrapped in another notice, or null. Filtering gateways (Trend Micro,
 * IronPort) and forwarding hosts pass a bounce on as an attachment of their own notice,
 * which then names nobody or no reason ("The following addresses had permanent delivery
 * errors" and an empty list): the attached report is the one that says what happened.
 */
function embeddedReport(mail: ParsedMailLike): DsnReport | null {
  for (const part of partsOf(mail, 'message/rfc822', 'message/global')) {
    const inner = part.message;
    if (inner === undefined || !isDeliveryReport(inner)) continue;
    const r = parseReport(inner);
    if (r.kind === 'dsn' && r.recipients.some((x) => x.classification.category !== 'unknown')) {
      return { ...r, format: `embedded/${r.format}` };
    }
  }
  return null;
}

/**
 * A delivery notice that says nothing about why any recipient failed. A mail that is no
 * bounce itself (a person forwarding one) is not read through its attachment.
 */
function saysNothing(r: ReportResult): boolean {
  return r.kind === 'dsn' && r.recipients.every((x) => x.classification.category === 'unknown');
}

export function parseReport(mail: ParsedMailLike): ReportResult {
  const outer = parseOuter(mail);
  if (!saysNothing(outer)) return outer;
  return embeddedReport(mail) ?? outer;
}

function parseOuter(mail: ParsedMailLike): ReportResult {
  const complaint = parseComplaint(mail);
  if (complaint) return complaint;

  const input = formatInput(mail);
  const statusParts = partsOf(mail, 'message/delivery-status', 'message/global-delivery-status').map(
    (p) => p.text,
  );
  if (statusParts.length === 0) {
    const inText = findDeliveryStatusInText(input.text);
    if (inText !== null) statusParts.push(inText);
  }
  const dsnRecipients = statusParts.flatMap((t) => parseDeliveryStatus(t).recipients);
  if (dsnRecipients.length > 0) {
    const fromText = textRecipients(input)?.found ?? [];
    const filled = dsnRecipients.map((r) =>
      withHumanText(r, fromText, dsnRecipients.length === 1, input.head),
    );
    return report('rfc3464', filled, mail, input);
  }

  const text = textRecipients(input);
  if (text) return report(text.format, text.found, mail, input);

  // Delivery reports carry Auto-Submitted too (RFC 3834 §5), so a mail from a mail
  // system's own address, or naming failed recipients, is read as a bounce first.
  const from = header(mail, 'from') ?? '';
  const exclude = [...addressesIn(header(mail, 'to') ?? ''), ...addressesIn(from)];
  const fromSystem = BOUNCE_SENDER.test(from) || header(mail, 'x-failed-recipients') !== null;
  if (fromSystem) {
    const found = genericRecipients(input, exclude);
    if (found.length > 0) return report('generic', found, mail, input);
  }

  const auto = parseAutoReply(mail);
  if (auto) return auto;

  if (BOUNCE_SUBJECT.test(mail.subject) || BOUNCE_TEXT.test(input.head)) {
    const found = genericRecipients(input, exclude);
    if (found.length > 0) return report('generic', found, mail, input);
  }
  return { kind: 'not_bounce' };
}

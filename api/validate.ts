import { domainToASCII } from 'node:url';
import type { MimeAttachment } from '../adapters/mime.js';
import { hasHeaderBreakingChars, type Mailbox, parseMailbox } from '../core/address.js';
import { ApiError } from './errors.js';
import { scheduleDelay } from './schedule-time.js';
import type { SendEmailBody } from './schemas.js';

/**
 * An attachment as the request gave it: its bytes, or an http(s) URL to fetch once before
 * the request is accepted (api/remote-attachments.ts).
 */
export interface RequestedAttachment {
  readonly source:
    | { readonly kind: 'content'; readonly content: Buffer }
    | { readonly kind: 'url'; readonly url: string };
  readonly filename: string | null;
  readonly contentType: string | null;
  readonly contentId: string | null;
}

/** A send request that passed every check; its URL attachments are still to be fetched. */
export interface CheckedEmail extends Omit<EmailDraft, 'attachments'> {
  readonly attachments: readonly RequestedAttachment[];
}

/** A send request that passed every check, ready to be composed and stored. */
export interface EmailDraft {
  readonly from: Mailbox;
  readonly fromHeader: string;
  readonly to: readonly Mailbox[];
  readonly cc: readonly Mailbox[];
  readonly bcc: readonly Mailbox[];
  readonly replyTo: readonly Mailbox[];
  readonly subject: string;
  readonly html: string | null;
  readonly text: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly attachments: readonly MimeAttachment[];
  readonly tags: readonly { name: string; value: string }[];
  readonly messageType: 'transactional' | 'marketing';
  /** Delay before the first attempt, ms (scheduled_at); 0: send now. */
  readonly delayMs: number;
}

// Resend: at most 50 recipients in `to` (openapi SendEmailRequest.to maxItems), and 50 in
// all per email: cc and bcc count too, or one request could fan out to thousands.
const MAX_TO = 50;
export const MAX_RECIPIENTS = 50;
// RFC 5322 §3.6.8 field name: printable US-ASCII except colon.
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
// Headers Posthorn writes itself or that only a receiving/signing MTA may add: a client
// setting them could forge trace or authentication results (trace fields: RFC 5321 §4.4;
// Authentication-Results: RFC 8601 §5; ARC: RFC 8617).
const RESERVED_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'date',
  'message-id',
  'reply-to',
  'sender',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'received',
  'return-path',
  'dkim-signature',
  'arc-seal',
  'arc-message-signature',
  'arc-authentication-results',
  'authentication-results',
  'delivered-to',
  'x-original-to',
  // Results of checks a receiver makes (RFC 7208 §9.1) and addresses that would redirect
  // bounces or read receipts away from our return path (RFC 8098 §2.1; Errors-To and
  // Return-Receipt-To are legacy forms of the same).
  'received-spf',
  'errors-to',
  'return-receipt-to',
  'disposition-notification-to',
]);
// Whole families: resent fields belong to a resending MTA (RFC 5322 §3.6.6); X-Spam-* are
// filter verdicts a receiver would trust.
const RESERVED_PREFIXES = ['resent-', 'x-spam-'];
export const isReserved = (lower: string) =>
  RESERVED_HEADERS.has(lower) || RESERVED_PREFIXES.some((p) => lower.startsWith(p));

const missing = (field: string) => new ApiError(422, 'missing_required_field', `Missing \`${field}\` field.`);
const invalid = (field: string, why: string) =>
  new ApiError(422, 'validation_error', `Invalid \`${field}\` field: ${why}`);

function list(v: string | string[] | null | undefined): string[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

export function mailbox(field: string, raw: string): Mailbox {
  if (hasHeaderBreakingChars(raw)) throw invalid(field, 'contains CR, LF or NUL.');
  // IDN domains go on the wire as A-labels (RFC 5890); the local part stays as given.
  const at = raw.lastIndexOf('@');
  const ascii =
    at > 0 ? raw.slice(0, at + 1) + raw.slice(at + 1).replace(/[^>\s]+/, (d) => domainToASCII(d) || d) : raw;
  const parsed = parseMailbox(ascii);
  if (!parsed.ok) {
    throw field === 'from'
      ? new ApiError(
          422,
          'invalid_from_address',
          'Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.',
        )
      : invalid(
          field,
          `The email address needs to follow the \`email@example.com\` or \`Name <email@example.com>\` format (${parsed.error}).`,
        );
  }
  return parsed.mailbox;
}

function decodeContent(index: number, content: string | { type: 'Buffer'; data: number[] }): Buffer {
  if (typeof content !== 'string') return Buffer.from(content.data);
  // Strict base64 (RFC 4648 §4), whitespace allowed between groups as MIME bodies often have.
  const compact = content.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new ApiError(422, 'invalid_attachment', `Attachment ${index}: \`content\` must be base64.`);
  }
  return Buffer.from(compact, 'base64');
}

function parseSchedule(value: string | null | undefined, nowMs: number): number {
  if (!value) return 0;
  const delay = scheduleDelay(value, nowMs);
  if (!delay.ok) throw invalid('scheduled_at', delay.message);
  return delay.delayMs;
}

/** A URL an attachment may be fetched from: http(s), no user name or password in it. */
function attachmentUrl(index: number, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError(422, 'invalid_attachment', `Attachment ${index}: \`path\` must be an https URL.`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) {
    throw new ApiError(422, 'invalid_attachment', `Attachment ${index}: \`path\` must be an https URL.`);
  }
  return url.href;
}

export function validateSend(body: SendEmailBody, opts: { nowMs: number }): CheckedEmail {
  if (!body.from) throw missing('from');
  if (body.to === undefined || body.to === null || list(body.to).length === 0) throw missing('to');
  if (body.subject === undefined || body.subject === null) throw missing('subject');
  if (!body.html && !body.text) throw missing('html` or `text');
  if (hasHeaderBreakingChars(body.subject)) throw invalid('subject', 'contains CR, LF or NUL.');

  const from = mailbox('from', body.from);
  const to = list(body.to).map((a) => mailbox('to', a));
  if (to.length > MAX_TO) throw invalid('to', `at most ${MAX_TO} recipients.`);
  const cc = list(body.cc).map((a) => mailbox('cc', a));
  const bcc = list(body.bcc).map((a) => mailbox('bcc', a));
  if (to.length + cc.length + bcc.length > MAX_RECIPIENTS)
    throw invalid('to', `at most ${MAX_RECIPIENTS} recipients in to, cc and bcc together.`);
  const replyTo = list(body.reply_to).map((a) => mailbox('reply_to', a));

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(body.headers ?? {})) {
    if (!FIELD_NAME.test(name)) throw invalid('headers', `"${name}" is not a valid header name.`);
    if (isReserved(name.toLowerCase())) throw invalid('headers', `"${name}" cannot be set.`);
    if (hasHeaderBreakingChars(value))
      throw invalid('headers', `the value of "${name}" contains CR, LF or NUL.`);
    headers[name] = value;
  }
  // RFC 8058 §3.1: List-Unsubscribe-Post means nothing without the URI it posts to.
  const names = new Set(Object.keys(headers).map((n) => n.toLowerCase()));
  if (names.has('list-unsubscribe-post') && !names.has('list-unsubscribe'))
    throw invalid('headers', '"List-Unsubscribe-Post" needs a "List-Unsubscribe" header.');

  const attachments = (body.attachments ?? []).map((a, i): RequestedAttachment => {
    if (!a.content && !a.path)
      throw new ApiError(422, 'invalid_attachment', 'Attachment must have either a `content` or `path`.');
    if (a.content && a.path)
      throw new ApiError(
        422,
        'invalid_attachment',
        `Attachment ${i}: give \`content\` or \`path\`, not both.`,
      );
    for (const [field, v] of [
      ['filename', a.filename],
      ['content_type', a.content_type],
      ['content_id', a.content_id],
    ] as const) {
      if (typeof v === 'string' && hasHeaderBreakingChars(v))
        throw invalid(`attachments[${i}].${field}`, 'contains CR, LF or NUL.');
    }
    return {
      source: a.content
        ? { kind: 'content', content: decodeContent(i, a.content) }
        : { kind: 'url', url: attachmentUrl(i, a.path!) },
      filename: typeof a.filename === 'string' ? a.filename : null,
      contentType: a.content_type ?? null,
      contentId: a.content_id ?? null,
    };
  });

  const tags = body.tags ?? [];
  const typeTag = tags.find((t) => t.name === 'message_type')?.value;
  if (typeTag !== undefined && typeTag !== 'transactional' && typeTag !== 'marketing') {
    throw invalid('tags', 'the `message_type` tag must be `transactional` or `marketing`.');
  }

  return {
    from,
    fromHeader: body.from.trim(),
    to,
    cc,
    bcc,
    replyTo,
    subject: body.subject,
    html: body.html ?? null,
    text: body.text ?? null,
    headers,
    attachments,
    tags,
    messageType: typeTag ?? 'transactional',
    delayMs: parseSchedule(body.scheduled_at, opts.nowMs),
  };
}

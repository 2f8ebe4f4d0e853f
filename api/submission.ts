import type { Logger } from 'pino';
import { checkWireFormat } from '../adapters/dkim.js';
import type { KeyPrincipal, TenantStore } from '../adapters/postgres/tenants.js';
import type { HeaderMailbox, SubmittedMailView } from '../adapters/submitted-mail.js';
import { type Mailbox, parseAddress } from '../core/address.js';
import {
  fieldValue,
  type HeaderField,
  joinHeader,
  newField,
  splitHeader,
} from '../core/submission/header-block.js';
import { isSubmissionReply, reply, type SubmissionReply, TRY_LATER } from '../core/submission/reply.js';
import { suppressionKey } from '../core/suppression.js';
import type { Accept, SubmittedMessage } from './accept.js';
import { hashApiKey } from './api-keys.js';
import { ApiError } from './errors.js';
import type { TenantRateBudget } from './rate-limit.js';
import { isDependencyUnavailable } from './unavailable.js';
import { type EmailDraft, isReserved, MAX_RECIPIENTS, mailbox } from './validate.js';

/**
 * SMTP submission's side of the accept path: the second front door to what `POST /emails`
 * uses (api/accept.ts), so a message submitted over SMTP passes the same checks, limits and
 * commit. inbound/submission-listener.ts speaks SMTP and asks this desk at each step.
 * Answers are replies to send; thrown errors never leave it (they become 451: the client
 * keeps the message and tries again).
 */
/**
 * The largest message accepted, bytes, advertised with SIZE (RFC 1870): the 40 MB of email
 * Resend accepts after base64 (resend.com/docs/api-reference/emails/send-email), which the
 * API's body limit (api/server.ts) is sized to carry.
 */
export const MAX_SUBMITTED_MESSAGE_BYTES = 40 * 1024 * 1024;

export interface SubmissionDeskDeps {
  readonly tenants: Pick<TenantStore, 'principalByTokenHash'>;
  readonly accept: Accept;
  readonly suppressedAmong: (tenantId: string, addresses: readonly string[]) => Promise<Set<string>>;
  /** The tenant's request budget, shared with the HTTP API (null: no limit). */
  readonly rateBudget: TenantRateBudget;
  readonly readMail: (raw: Buffer) => Promise<SubmittedMailView>;
  readonly log: Logger;
}

/**
 * Fields of the API's reserved list that a submitted message carries as its own: it is
 * relayed with them. Every other reserved field (api/validate.ts) is removed, where the API
 * refuses it: Bcc (RFC 5322 §3.6.3: never shown to recipients), Return-Path,
 * Delivered-To and X-Original-To (a delivering MTA's, RFC 5321 §4.4), DKIM-Signature (the
 * message is signed here with the domain's keys), ARC-*, Authentication-Results,
 * Received-SPF and X-Spam-* (a receiver's verdicts), Errors-To, Return-Receipt-To and
 * Disposition-Notification-To (they would send bounces and receipts elsewhere than the
 * return path), and Resent-*. Received is kept: a relay between the application and
 * Posthorn adds it, and RFC 5321 §4.4 forbids deleting trace fields.
 */
const KEPT_RESERVED = new Set([
  'from',
  'to',
  'cc',
  'subject',
  'date',
  'message-id',
  'reply-to',
  'sender',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'received',
]);

/**
 * Fields that address the relay rather than the recipients: Resend's SMTP relay reads its
 * idempotency key from this field (resend.com/docs/dashboard/emails/idempotency-keys); it
 * is not honoured here, and is removed so it never reaches recipients.
 */
const RELAY_FIELDS = new Set(['resend-idempotency-key']);

export const isStrippedField = (key: string) =>
  (isReserved(key) && !KEPT_RESERVED.has(key)) || RELAY_FIELDS.has(key);

/** RFC 5322 §3.3 date-time, e.g. "Sun, 06 Dec 2026 13:41:08 +0000". */
function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

/**
 * The decoded copies stored for `GET /emails` go into PostgreSQL text, which cannot hold
 * NUL; a body or encoded word can decode to one (quoted-printable `=00`, RFC 2047) even
 * though the message itself has none. The MIME is stored as it came.
 */
const storable = <T extends string | null>(v: T): T => (v === null ? v : (v.replaceAll('\0', '') as T));

function headerMailbox(m: HeaderMailbox): Mailbox | null {
  const parsed = parseAddress(m.address);
  return parsed.ok ? { ...parsed.mailbox, name: storable(m.name) || null } : null;
}

function mailboxesOf(list: readonly HeaderMailbox[]): Mailbox[] {
  return list.map(headerMailbox).filter((m): m is Mailbox => m !== null);
}

/** A refusal from the accept path in SMTP terms. */
function refusalOf(err: ApiError): SubmissionReply {
  switch (err.statusCode) {
    case 403:
      return reply(550, `5.7.1 ${err.message}`);
    case 429:
      return reply(451, `4.7.0 ${err.message}`);
    default:
      return reply(554, `5.6.0 ${err.message}`);
  }
}

export function createSubmissionDesk(deps: SubmissionDeskDeps) {
  const log = deps.log;

  async function guarded<T>(
    what: string,
    fn: () => Promise<T | SubmissionReply>,
  ): Promise<T | SubmissionReply> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiError) return refusalOf(err);
      if (isDependencyUnavailable(err)) {
        log.warn(
          { err, event: 'submission.dependency_unavailable', step: what },
          'database or Temporal unavailable',
        );
      } else {
        log.error({ err, event: 'submission.failed', step: what }, 'submission step failed');
      }
      return TRY_LATER;
    }
  }

  /** The key behind a session's token hash, read at each step so a revoked key stops at once. */
  async function principalOf(tokenHash: Buffer): Promise<KeyPrincipal | SubmissionReply> {
    const principal = await deps.tenants.principalByTokenHash(tokenHash);
    return principal ?? reply(530, '5.7.0 Authentication required: the API key is no longer valid');
  }

  /** The checks of `POST /emails` on a whole message, and the commit. */
  async function accept(principal: KeyPrincipal, recipients: readonly string[], raw: Buffer) {
    // RFC 2045 §2.7–2.8: neither 7bit nor 8bit data holds NUL (BINARYMIME is not offered).
    if (raw.includes(0)) return reply(554, '5.6.0 The message contains a NUL octet, which mail cannot carry');
    // What cannot go on the wire unchanged can never be signed or sent (RFC 6376 §5.3).
    const wire = checkWireFormat(raw);
    if (wire?.kind === 'bare_cr_or_lf') {
      return reply(554, `5.6.0 The message has a bare CR or LF at octet ${wire.offset} (RFC 5321 §2.3.8)`);
    }
    if (wire?.kind === 'line_too_long') {
      return reply(
        554,
        `5.6.0 Line ${wire.line} is ${wire.octets} octets, over the 998 allowed (RFC 5322 §2.1.1): encode long lines (quoted-printable or base64)`,
      );
    }
    const split = splitHeader(raw.toString('latin1'));
    if (!split.ok) return reply(554, `5.6.0 The header section is malformed: ${split.problem}`);
    // RFC 5322 §3.6: exactly one From. A second one is how a message shows one sender to
    // the reader and has another one's signature checked (RFC 6376 §8.15).
    if (split.fields.filter((f) => f.key === 'from').length !== 1) {
      return reply(554, '5.6.0 The message must have exactly one From field (RFC 5322 §3.6)');
    }
    let view: SubmittedMailView;
    try {
      view = await deps.readMail(raw);
    } catch {
      return reply(554, '5.6.0 The message could not be parsed');
    }
    if (view.fromHasGroup || view.from.length !== 1) {
      return reply(554, '5.6.0 The From field must name exactly one mailbox');
    }
    const author = view.from[0]!;
    let from: Mailbox;
    try {
      from = { ...mailbox('from', author.address), name: storable(author.name) || null };
    } catch {
      return reply(553, `5.1.7 The From address ${author.address} is not valid`);
    }
    const to = mailboxesOf(view.to);
    const cc = mailboxesOf(view.cc);
    const envelope = recipients.map((r) => mailbox('to', r));
    const shown = new Set([...to, ...cc].map((m) => m.address));
    const draft: EmailDraft = {
      from,
      fromHeader: from.name ? `${from.name} <${from.address}>` : from.address,
      to,
      cc,
      // Envelope recipients the header does not show are, in effect, Bcc recipients.
      bcc: envelope.filter((m) => !shown.has(m.address)),
      replyTo: mailboxesOf(view.replyTo),
      subject: storable(view.subject ?? ''),
      html: storable(view.html),
      text: storable(view.text),
      headers: {},
      attachments: [],
      tags: [],
      messageType: 'transactional',
      delayMs: 0,
    };
    const domain = await deps.accept.check(principal, draft);
    // Sender names who sent it on the author's behalf (RFC 5322 §3.6.2), and mail readers
    // show it: it must be an address the key may send as too.
    for (const s of mailboxesOf(view.sender)) {
      if (s.domain !== from.domain) await deps.accept.check(principal, { ...draft, from: s });
    }
    const names = new Set(split.fields.map((f) => f.key));
    // RFC 8058 §3.1, as the API checks it.
    if (names.has('list-unsubscribe-post') && !names.has('list-unsubscribe')) {
      return reply(554, '5.6.0 List-Unsubscribe-Post needs a List-Unsubscribe field (RFC 8058 §3.1)');
    }
    const kept = split.fields.filter((f) => !isStrippedField(f.key));
    const submitted: SubmittedMessage = {
      recipients: envelope,
      complete(ownMessageId, date) {
        const own = kept.find((f) => f.key === 'message-id');
        const added: HeaderField[] = [];
        // RFC 6409 §8.2–8.3: a submission server may add the Date and Message-ID a message lacks.
        if (!names.has('date')) added.push(newField('Date', rfc5322Date(date)));
        if (!own) added.push(newField('Message-ID', ownMessageId));
        const mime = Buffer.from(joinHeader([...kept, ...added], split.body), 'latin1');
        return { mime, messageIdHeader: own ? fieldValue(own) : ownMessageId };
      },
    };
    const [id] = await deps.accept.acceptAll(principal, [{ draft, domain, submitted }]);
    return { id: id! };
  }

  return {
    /** The key whose token is the password (any user name, as with Resend's relay), or null. */
    async authenticate(password: string): Promise<{ tokenHash: Buffer } | null | SubmissionReply> {
      const found = await guarded('auth', async () => {
        const tokenHash = hashApiKey(password);
        return (await deps.tenants.principalByTokenHash(tokenHash)) ? { tokenHash } : null;
      });
      // RFC 4954 §6: the reply to AUTH when the server cannot check the credentials now.
      return isSubmissionReply(found)
        ? reply(454, '4.7.0 Temporary authentication failure, try again later')
        : found;
    },

    /** MAIL FROM: the key is still valid and the tenant within its rate. The envelope sender itself is not used. */
    mailFrom(tokenHash: Buffer): Promise<SubmissionReply | null> {
      return guarded('mail', async () => {
        const principal = await principalOf(tokenHash);
        if (isSubmissionReply(principal)) return principal;
        const rate = await deps.rateBudget(principal.tenantId);
        if (rate && !rate.allowed) {
          return reply(451, `4.7.0 Too many messages for this account, try again in ${rate.retryAfterS} s`);
        }
        return null;
      });
    },

    /** RCPT TO: refused where the API would not send to it; `accepted` are the transaction's recipients so far. */
    rcptTo(tokenHash: Buffer, address: string, accepted: number): Promise<SubmissionReply | null> {
      return guarded('rcpt', async () => {
        // RFC 5321 §4.5.3.1.10: 452 for too many recipients; the client sends the rest in
        // another transaction.
        if (accepted >= MAX_RECIPIENTS) {
          return reply(452, `4.5.3 Too many recipients: at most ${MAX_RECIPIENTS} per message`);
        }
        const principal = await principalOf(tokenHash);
        if (isSubmissionReply(principal)) return principal;
        let m: Mailbox;
        try {
          m = mailbox('to', address);
        } catch {
          return reply(553, `5.1.3 <${address}> is not a valid recipient address`);
        }
        // Refused here rather than accepted and recorded `suppressed`, as the API does: an
        // SMTP client reads a 250 as "will be delivered", and nothing else tells it otherwise.
        const suppressed = await deps.suppressedAmong(principal.tenantId, [m.address]);
        if (suppressed.has(suppressionKey(m.address))) {
          return reply(
            550,
            `5.7.1 <${m.address}> is on this account's suppression list (an earlier hard bounce or complaint)`,
          );
        }
        return null;
      });
    },

    /** DATA: the message checked and committed; its id, or the refusal. */
    data(
      tokenHash: Buffer,
      recipients: readonly string[],
      raw: Buffer,
    ): Promise<{ id: string } | SubmissionReply> {
      return guarded('data', async () => {
        const principal = await principalOf(tokenHash);
        if (isSubmissionReply(principal)) return principal;
        return accept(principal, recipients, raw);
      });
    },
  };
}

export type SubmissionDesk = ReturnType<typeof createSubmissionDesk>;

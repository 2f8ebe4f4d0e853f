import { randomUUID } from 'node:crypto';
import { checkWireFormat, type WireProblem } from '../adapters/dkim.js';
import type { InsertedMessages, MessageStore, NewMessage } from '../adapters/postgres/messages.js';
import type { KeyPrincipal, SendingDomain, TenantStore } from '../adapters/postgres/tenants.js';
import type { Mailbox } from '../core/address.js';
import type { RetrySchedule } from '../core/delivery/retry-schedule.js';
import { domainMaySend } from '../core/domains/lifecycle.js';
import { blankEvent, type DeliveryEvent, isSuppressedIn } from '../core/events.js';
import type { PendingStart } from '../workflows/contract.js';
import { ApiError } from './errors.js';
import type { TenantLimits } from './tenant-limits.js';
import type { EmailDraft } from './validate.js';

export interface AcceptDeps {
  readonly tenants: Pick<TenantStore, 'domainByName'>;
  /** Stores the messages; finds their suppressed recipients in the same statement. */
  readonly messages: Pick<MessageStore, 'insert'>;
  /** Hands committed messages to Temporal (the wave former); returns at once. */
  readonly dispatch: (pending: readonly PendingStart[]) => void;
  /** Resolves when a request may go on: in-flow control under overload (api/wave-former.ts). */
  readonly admit: () => Promise<void>;
  /** This node's id, stored with each message for the start sweeper. */
  readonly node: string;
  readonly compose: (draft: EmailDraft, messageIdHeader: string, date: Date) => Promise<Buffer>;
  readonly retry: RetrySchedule;
  readonly egressTaskQueue: string;
  readonly now: () => number;
  /** Trust-and-safety pauses and quotas (api/tenant-limits.ts). */
  readonly limits: Pick<TenantLimits, 'refuseIfPaused' | 'reserve'>;
}

/**
 * A message submitted whole (SMTP submission, api/submission.ts): its own MIME, relayed as
 * it came but for the fields the submission desk removes or adds, and its envelope
 * recipients.
 */
export interface SubmittedMessage {
  /** The RCPT TO addresses: who receives it, whatever its To and Cc say. */
  readonly recipients: readonly Mailbox[];
  /** The message to store, with this Message-ID and Date where it has none of its own. */
  readonly complete: (messageIdHeader: string, date: Date) => { mime: Buffer; messageIdHeader: string };
}

/** A checked draft with the sending domain it may use. */
export interface CheckedDraft {
  readonly draft: EmailDraft;
  readonly domain: SendingDomain;
  /** Set when the message came whole over SMTP: then it is not composed from the draft. */
  readonly submitted?: SubmittedMessage;
}

function uniqueRecipients({ draft, submitted }: CheckedDraft): Mailbox[] {
  const seen = new Map<string, Mailbox>();
  for (const m of submitted?.recipients ?? [...draft.to, ...draft.cc, ...draft.bcc])
    if (!seen.has(m.address)) seen.set(m.address, m);
  return [...seen.values()];
}

/**
 * Accepts validated emails, all or none: the From domain must be the key's tenant's and
 * verified; the MIME is built once; messages, recipients and first events of the whole
 * request are stored in one transaction. Once that commits the request is answered 2xx
 * whatever happens next: the messages are handed to the wave former after the commit, and
 * a start that fails (Temporal unreachable, the node killed) is retried by the start
 * sweeper, so a 2xx means "will be delivered" and an error means "nothing was accepted"
 * (docs/reliability.md).
 */
export function createAccept(deps: AcceptDeps) {
  /** The From domain, if the key may send as it; an ApiError otherwise. No side effects. */
  async function check(principal: KeyPrincipal, draft: Pick<EmailDraft, 'from'>): Promise<SendingDomain> {
    const domain = await deps.tenants.domainByName(principal.tenantId, draft.from.domain);
    if (!domain || (principal.domainId !== null && principal.domainId !== domain.id)) {
      throw new ApiError(
        403,
        'validation_error',
        `The ${draft.from.domain} domain is not registered for this API key. Please, add and verify your domain.`,
      );
    }
    if (!domainMaySend(domain.status)) {
      throw new ApiError(
        403,
        'validation_error',
        `The ${draft.from.domain} domain is not verified. Please, add and verify your domain.`,
      );
    }
    deps.limits.refuseIfPaused(principal.tenantName, domain.name);
    return domain;
  }

  function wireProblemMessage(p: WireProblem): string {
    switch (p.kind) {
      case 'line_too_long':
        return `A header line would be ${p.octets} octets, over the 998 allowed (RFC 5322 §2.1.1): shorten the subject, display names, header values or attachment file names, or put spaces in them.`;
      case 'bare_cr_or_lf':
        return 'The message has a bare CR or LF that cannot be sent (RFC 5321 §2.3.8).';
      case 'no_header_end':
        return 'The message could not be composed.';
    }
  }

  /** Gives one message its id and its wire form; no side effects. */
  async function compose({ draft, domain, submitted }: CheckedDraft) {
    const id = randomUUID();
    const acceptedAt = deps.now();
    const ownMessageId = `<${id}@${domain.name}>`;
    const { mime, messageIdHeader } = submitted
      ? submitted.complete(ownMessageId, new Date(acceptedAt))
      : {
          mime: await deps.compose(draft, ownMessageId, new Date(acceptedAt)),
          messageIdHeader: ownMessageId,
        };
    // What cannot go on the wire unchanged can never be signed or sent: refuse it now, not
    // after a 2xx (an unbreakable run of 2,000 characters in a subject, display name,
    // header value or file name cannot be folded, RFC 5322 §2.1.1 and §2.2.3).
    const problem = checkWireFormat(mime);
    if (problem) throw new ApiError(422, 'validation_error', wireProblemMessage(problem));
    return { id, acceptedAt, mime, messageIdHeader };
  }

  /**
   * Builds what one composed message stores and starts; no side effects. Every recipient
   * goes in `queued` (or `scheduled`): the insert itself stores those on the tenant's
   * suppression list `suppressed` (Resend semantics: the send still succeeds, the recipient
   * gets a `suppressed` event and is never tried), and `startable` then leaves them out.
   */
  function prepare(
    principal: KeyPrincipal,
    checked: CheckedDraft,
    { id, acceptedAt, mime, messageIdHeader }: Awaited<ReturnType<typeof compose>>,
  ) {
    const { draft, domain } = checked;
    const recipients = uniqueRecipients(checked);
    const scheduledAtMs = draft.delayMs > 0 ? acceptedAt + draft.delayMs : null;
    const events: DeliveryEvent[] = recipients.map((r) => ({
      ...blankEvent({
        messageId: id,
        tenantId: principal.tenantId,
        event: scheduledAtMs === null ? 'queued' : 'scheduled',
        sendingDomain: domain.name,
        messageType: draft.messageType,
      }),
      recipient: r.address,
      recipientDomain: r.domain,
    }));
    const addresses = (ms: readonly Mailbox[]) =>
      ms.map((m) => (m.name ? `${m.name} <${m.address}>` : m.address));
    const message: NewMessage = {
      id,
      tenantId: principal.tenantId,
      domainId: domain.id,
      messageType: draft.messageType,
      fromHeader: draft.fromHeader,
      subject: draft.subject,
      to: addresses(draft.to),
      cc: draft.cc.length ? addresses(draft.cc) : null,
      bcc: draft.bcc.length ? addresses(draft.bcc) : null,
      replyTo: draft.replyTo.length ? addresses(draft.replyTo) : null,
      html: draft.html,
      text: draft.text,
      tags: draft.tags.length ? draft.tags : null,
      messageIdHeader,
      mime,
      recipients: recipients.map((r) => ({ address: r.address, domain: r.domain })),
      scheduledAtMs,
      acceptedNode: deps.node,
    };
    const start: PendingStart = {
      input: {
        messageId: id,
        recipients: recipients.map((r) => r.address),
        acceptedAtMs: acceptedAt + draft.delayMs,
        retry: deps.retry,
        egressTaskQueue: deps.egressTaskQueue,
        // The workflow waits for it itself, so that it can be moved or canceled.
        ...(scheduledAtMs === null ? {} : { scheduledAtMs }),
      },
      attributes: {
        tenant: principal.tenantName,
        sendingDomain: domain.name,
        messageType: draft.messageType,
      },
      delayMs: 0,
    };
    return { message, events, start };
  }

  /** The starts with their suppressed recipients left out; none for a message with none left. */
  function startable(
    starts: readonly PendingStart[],
    suppressed: InsertedMessages['suppressed'],
  ): PendingStart[] {
    if (suppressed.length === 0) return [...starts];
    const gone = isSuppressedIn(suppressed);
    return starts
      .map((s) => ({
        ...s,
        input: { ...s.input, recipients: s.input.recipients.filter((r) => !gone(s.input.messageId, r)) },
      }))
      .filter((s) => s.input.recipients.length > 0);
  }

  return {
    check,
    /**
     * Stores every checked draft in one transaction, then starts their workflows; returns
     * the message ids in order. Throws (and stores nothing) only before the commit.
     */
    async acceptAll(principal: KeyPrincipal, items: readonly CheckedDraft[]): Promise<string[]> {
      await deps.admit();
      const composed = await Promise.all(items.map(compose));
      const prepared = items.map((c, i) => prepare(principal, c, composed[i]!));
      // Quotas count every recipient of every email (Resend's rule), the whole request or
      // none of it, and are given back if storing fails.
      const reservation = await deps.limits.reserve(
        principal.tenantId,
        prepared.reduce((n, p) => n + p.message.recipients.length, 0),
      );
      let inserted: InsertedMessages;
      try {
        inserted = await deps.messages.insert(prepared);
      } catch (err) {
        await reservation.refund().catch(() => {});
        throw err;
      }
      deps.dispatch(
        startable(
          prepared.map((p) => p.start),
          inserted.suppressed,
        ),
      );
      return prepared.map((p) => p.message.id);
    },
  };
}

export type Accept = ReturnType<typeof createAccept>;

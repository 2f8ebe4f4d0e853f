import { randomUUID } from 'node:crypto';
import type { MessageStore } from '../adapters/postgres/messages.js';
import type { SuppressionStore } from '../adapters/postgres/suppressions.js';
import type { KeyPrincipal, SendingDomain, TenantStore } from '../adapters/postgres/tenants.js';
import type { Mailbox } from '../core/address.js';
import { blankEvent, type DeliveryEvent } from '../core/events.js';
import type { RetrySchedule } from '../core/retry-schedule.js';
import { suppressionKey } from '../core/suppression.js';
import type { MessageWorkflowInput } from '../workflows/messages.js';
import { ApiError } from './errors.js';
import type { EmailDraft } from './validate.js';

export interface MessageSearchAttributes {
  readonly tenant: string;
  readonly sendingDomain: string;
  readonly messageType: string;
}

/** Starts a message workflow; workflow id = message id. */
export interface MessageStarter {
  start(input: MessageWorkflowInput, attributes: MessageSearchAttributes, delayMs: number): Promise<void>;
}

export interface AcceptDeps {
  readonly tenants: Pick<TenantStore, 'domainByName'>;
  readonly messages: Pick<MessageStore, 'insert' | 'remove'>;
  readonly suppressions: Pick<SuppressionStore, 'suppressedAmong'>;
  readonly starter: MessageStarter;
  readonly compose: (draft: EmailDraft, messageIdHeader: string, date: Date) => Promise<Buffer>;
  readonly retry: RetrySchedule;
  readonly egressTaskQueue: string;
  readonly now: () => number;
}

function uniqueRecipients(draft: EmailDraft): Mailbox[] {
  const seen = new Map<string, Mailbox>();
  for (const m of [...draft.to, ...draft.cc, ...draft.bcc]) if (!seen.has(m.address)) seen.set(m.address, m);
  return [...seen.values()];
}

/**
 * Accepts one validated email: the From domain must be the key's tenant's and verified;
 * the MIME is built once; message, recipients and `queued` events are stored in one
 * transaction; then the workflow is started. The caller replies only after both.
 */
export function createAccept(deps: AcceptDeps) {
  /** The From domain, if the key may send as it; an ApiError otherwise. No side effects. */
  async function check(principal: KeyPrincipal, draft: EmailDraft): Promise<SendingDomain> {
    const domain = await deps.tenants.domainByName(principal.tenantId, draft.from.domain);
    if (!domain || (principal.domainId !== null && principal.domainId !== domain.id)) {
      throw new ApiError(
        403,
        'validation_error',
        `The ${draft.from.domain} domain is not registered for this API key. Please, add and verify your domain.`,
      );
    }
    if (domain.status !== 'verified') {
      throw new ApiError(
        403,
        'validation_error',
        `The ${draft.from.domain} domain is not verified. Please, add and verify your domain.`,
      );
    }
    return domain;
  }

  async function store(principal: KeyPrincipal, draft: EmailDraft, domain: SendingDomain) {
    const id = randomUUID();
    const acceptedAt = deps.now();
    const messageIdHeader = `<${id}@${domain.name}>`;
    const mime = await deps.compose(draft, messageIdHeader, new Date(acceptedAt));
    const recipients = uniqueRecipients(draft);
    const suppressed = await deps.suppressions.suppressedAmong(
      principal.tenantId,
      recipients.map((r) => r.address),
    );
    const isSuppressed = (m: Mailbox) => suppressed.has(suppressionKey(m.address));
    // A suppressed recipient gets a `suppressed` event and is never tried (Resend semantics:
    // the send itself still succeeds).
    const firstEvents: DeliveryEvent[] = recipients.map((r) => ({
      ...blankEvent({
        messageId: id,
        tenantId: principal.tenantId,
        event: isSuppressed(r) ? 'suppressed' : 'queued',
        sendingDomain: domain.name,
        messageType: draft.messageType,
      }),
      recipient: r.address,
      recipientDomain: r.domain,
      detail: isSuppressed(r) ? 'on the suppression list' : null,
    }));
    const addresses = (ms: readonly Mailbox[]) =>
      ms.map((m) => (m.name ? `${m.name} <${m.address}>` : m.address));
    await deps.messages.insert(
      {
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
        recipients: recipients.map((r) => ({
          address: r.address,
          domain: r.domain,
          state: isSuppressed(r) ? 'suppressed' : 'queued',
        })),
      },
      firstEvents,
    );
    const input: MessageWorkflowInput = {
      messageId: id,
      recipients: recipients.filter((r) => !isSuppressed(r)).map((r) => r.address),
      acceptedAtMs: acceptedAt + draft.delayMs,
      retry: deps.retry,
      egressTaskQueue: deps.egressTaskQueue,
    };
    return {
      id,
      input,
      attributes: {
        tenant: principal.tenantName,
        sendingDomain: domain.name,
        messageType: draft.messageType,
      },
      delayMs: draft.delayMs,
    };
  }

  async function start(p: Awaited<ReturnType<typeof store>>): Promise<void> {
    if (p.input.recipients.length === 0) return; // every recipient suppressed: nothing to deliver
    try {
      await deps.starter.start(p.input, p.attributes, p.delayMs);
    } catch (err) {
      // Nothing half-accepted stays behind: the client sees an error and may retry.
      await deps.messages.remove(p.id);
      throw err;
    }
  }

  return {
    check,
    /** Stores then starts one checked draft; returns the message id. */
    async accept(principal: KeyPrincipal, draft: EmailDraft, domain: SendingDomain): Promise<string> {
      const p = await store(principal, draft, domain);
      await start(p);
      return p.id;
    },
  };
}

export type Accept = ReturnType<typeof createAccept>;

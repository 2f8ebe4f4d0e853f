import type { Journal } from '../adapters/postgres/journal.js';
import type { MessageStore } from '../adapters/postgres/messages.js';
import type { ReportResult } from '../core/bounce/report/types.js';
import {
  blankEvent,
  type DeliveryEvent,
  type RecipientUpdate,
  type SuppressionEntry,
} from '../core/events.js';
import { reportEffects } from '../core/report-effects.js';

/** The message and recipient a VERP return path named. Index 0: the whole transaction. */
export interface VerpTarget {
  readonly messageId: string;
  readonly recipientIndex: number;
}

export type IntakeResult =
  | { kind: 'recorded'; report: ReportResult['kind']; effects: number }
  | { kind: 'ignored'; report: ReportResult['kind']; why: string }
  | { kind: 'unknown_message' };

export interface IntakeDeps {
  readonly messages: Pick<MessageStore, 'envelopeOf'>;
  readonly journal: Journal;
  readonly parse: (raw: Buffer) => Promise<ReportResult>;
}

/**
 * Takes one received report for one of our messages: parses and classifies it, and
 * records `bounced` / `complained` / `delivery_delayed` events, the recipients' new state
 * (a bounce after `delivered` becomes `bounced`) and suppressions, in one transaction.
 */
export function createIntake(deps: IntakeDeps) {
  return async function intake(raw: Buffer, target: VerpTarget): Promise<IntakeResult> {
    const envelope = await deps.messages.envelopeOf(target.messageId);
    if (!envelope) return { kind: 'unknown_message' };
    const report = await deps.parse(raw);
    const verpRecipient = envelope.recipients.find((r) => r.idx === target.recipientIndex)?.address ?? null;
    const effects = reportEffects(
      report,
      envelope.recipients.map((r) => r.address),
      verpRecipient,
    );
    if (effects.length === 0) {
      return {
        kind: 'ignored',
        report: report.kind,
        why: report.kind === 'dsn' ? 'no failed recipient of this message' : report.kind,
      };
    }
    const events: DeliveryEvent[] = effects.map((e) => ({
      ...blankEvent({
        messageId: target.messageId,
        tenantId: envelope.tenantId,
        event: e.event,
        sendingDomain: envelope.sendingDomain,
        messageType: envelope.messageType,
      }),
      recipient: e.event === 'delivery_delayed' ? null : e.address,
      recipientDomain: e.address.slice(e.address.lastIndexOf('@') + 1),
      replyCode: e.replyCode,
      enhancedStatus: e.status,
      replyText: e.detail.slice(0, 1000),
      category: e.category,
      detail: e.event === 'bounced' ? `async ${report.kind}; action ${e.action}` : `async ${report.kind}`,
    }));
    const updates: RecipientUpdate[] = effects
      .filter((e) => e.event === 'bounced')
      .map((e) => ({
        messageId: target.messageId,
        address: e.address,
        state: 'bounced',
        lastReply: e.detail.slice(0, 1000),
        attempted: false,
      }));
    const suppressions: SuppressionEntry[] = effects.flatMap((e) =>
      e.suppress
        ? [
            {
              tenantId: envelope.tenantId,
              email: e.address,
              origin: e.suppress,
              reason: e.category,
              sourceMessageId: target.messageId,
            },
          ]
        : [],
    );
    await deps.journal.append(events, updates, suppressions);
    return { kind: 'recorded', report: report.kind, effects: effects.length };
  };
}

export type Intake = ReturnType<typeof createIntake>;

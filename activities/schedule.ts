import { withDate } from '../adapters/mime.js';
import type { Journal } from '../adapters/postgres/journal.js';
import type { MessageStore } from '../adapters/postgres/messages.js';
import { blankEvent, type DeliveryEvent, type EventName } from '../core/events.js';
import type { MessageActivities } from '../workflows/contract.js';
import { messageMissing } from './failures.js';

export interface ScheduleDeps {
  readonly messages: Pick<MessageStore, 'envelopeOf' | 'setScheduledAt' | 'mimeOf' | 'replaceMime'>;
  readonly journal: Journal;
  readonly now: () => number;
}

/**
 * The bookkeeping of scheduled sends (docs/architecture.md, "Scheduled sends"): what the
 * message workflow's reschedule and cancel updates and its release write to PostgreSQL.
 */
export function createScheduleActivities(
  deps: ScheduleDeps,
): Pick<MessageActivities, 'reschedule' | 'cancelScheduled' | 'releaseScheduled'> {
  async function eventsFor(
    messageId: string,
    recipients: readonly string[],
    event: EventName,
  ): Promise<DeliveryEvent[]> {
    const m = await deps.messages.envelopeOf(messageId);
    if (!m) throw messageMissing(messageId);
    return recipients.map((recipient) => ({
      ...blankEvent({
        messageId,
        tenantId: m.tenantId,
        event,
        sendingDomain: m.sendingDomain,
        messageType: m.messageType,
      }),
      recipient,
      recipientDomain: recipient.slice(recipient.lastIndexOf('@') + 1),
    }));
  }

  return {
    async reschedule({ messageId, scheduledAtMs }) {
      await deps.messages.setScheduledAt(messageId, scheduledAtMs);
    },

    async cancelScheduled({ messageId, recipients }) {
      const events = await eventsFor(messageId, recipients, 'canceled');
      await deps.journal.append(
        events,
        recipients.map((address) => ({
          messageId,
          address,
          state: 'canceled' as const,
          lastReply: null,
          attempted: false,
        })),
      );
    },

    async releaseScheduled({ messageId, recipients }) {
      const mime = await deps.messages.mimeOf(messageId);
      if (!mime) throw messageMissing(messageId);
      // Before the first attempt, so every attempt (and its DKIM signature) carries it.
      await deps.messages.replaceMime(messageId, withDate(mime, new Date(deps.now())));
      await deps.journal.append(await eventsFor(messageId, recipients, 'queued'));
    },
  };
}

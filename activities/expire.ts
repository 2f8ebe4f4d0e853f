import type { Journal } from '../adapters/postgres/journal.js';
import type { MessageStore } from '../adapters/postgres/messages.js';
import { blankEvent } from '../core/events.js';
import type { ExpireInput } from '../workflows/contract.js';
import { messageMissing } from './failures.js';

/** Records that the retry schedule gave up: a `failed` event (category `expired`) per recipient. */
export function createExpire(deps: { messages: Pick<MessageStore, 'forDelivery'>; journal: Journal }) {
  return async function expire(input: ExpireInput): Promise<void> {
    const m = await deps.messages.forDelivery(input.messageId);
    if (!m) throw messageMissing(input.messageId);
    const detail = `gave up after ${input.attempts} attempts (max age reached)`;
    await deps.journal.append(
      input.recipients.map((recipient) => ({
        ...blankEvent({
          messageId: m.id,
          tenantId: m.tenantId,
          event: 'failed',
          sendingDomain: m.sendingDomain,
          messageType: m.messageType,
        }),
        recipient,
        recipientDomain: recipient.slice(recipient.lastIndexOf('@') + 1),
        attempt: input.attempts,
        category: 'expired' as const,
        detail,
      })),
      input.recipients.map((address) => ({
        messageId: m.id,
        address,
        state: 'failed' as const,
        lastReply: detail,
        attempted: false,
      })),
    );
  };
}

import type { Journal } from '../adapters/postgres/journal.js';
import type { MessageStore } from '../adapters/postgres/messages.js';
import type { ExpireInput } from './types.js';

/** Records that the retry schedule gave up: a `failed` event (category `expired`) per recipient. */
export function createExpire(deps: { messages: Pick<MessageStore, 'forDelivery'>; journal: Journal }) {
  return async function expire(input: ExpireInput): Promise<void> {
    const m = await deps.messages.forDelivery(input.messageId);
    if (!m) throw new Error(`message ${input.messageId} is not in the database`);
    const detail = `gave up after ${input.attempts} attempts (max age reached)`;
    await deps.journal.append(
      input.recipients.map((recipient) => ({
        messageId: m.id,
        tenantId: m.tenantId,
        event: 'failed' as const,
        recipient,
        sendingDomain: m.sendingDomain,
        recipientDomain: recipient.slice(recipient.lastIndexOf('@') + 1),
        messageType: m.messageType,
        provider: null,
        pool: null,
        ip: null,
        mxHost: null,
        mxAddress: null,
        attempt: input.attempts,
        replyCode: null,
        enhancedStatus: null,
        replyText: null,
        phase: null,
        category: 'expired' as const,
        tls: null,
        durationMs: null,
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

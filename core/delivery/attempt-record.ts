import type { DeliveryEvent, RecipientUpdate, SuppressionEntry } from '../events.js';
import { suppressionOriginFor } from '../suppression.js';
import type { RecipientOutcome } from './delivery-outcome.js';
import { formatSmtpReply } from './smtp-reply.js';

/** Everything an event row says about the attempt besides the recipient's own outcome. */
export type AttemptContext = Omit<
  DeliveryEvent,
  'event' | 'recipient' | 'replyCode' | 'enhancedStatus' | 'replyText' | 'phase' | 'category' | 'detail'
>;

/**
 * What one attempt writes to the delivery log: an event per recipient (plus `ambiguous`
 * where the connection broke after the dot), the recipients' new state, suppressions for
 * addresses that proved bad, and the once-per-message `delivery_delayed` notice.
 */
export function attemptRecord(
  ctx: AttemptContext,
  outcomes: ReadonlyMap<string, RecipientOutcome>,
): { events: DeliveryEvent[]; updates: RecipientUpdate[]; suppressions: SuppressionEntry[] } {
  const events: DeliveryEvent[] = [];
  const updates: RecipientUpdate[] = [];
  const suppressions: SuppressionEntry[] = [];
  const none = {
    replyCode: null,
    enhancedStatus: null,
    replyText: null,
    phase: null,
    category: null,
    detail: null,
  };
  let anyDeferred = false;
  for (const [address, o] of outcomes) {
    const reply = o.reply;
    const fields = {
      ...ctx,
      recipient: address,
      replyCode: reply?.code ?? null,
      enhancedStatus: reply?.enhanced ?? null,
      replyText: reply?.text ?? null,
    };
    switch (o.kind) {
      case 'delivered':
        events.push({ ...fields, event: 'delivered', phase: 'dot', category: 'delivered', detail: null });
        break;
      case 'deferred':
        anyDeferred = true;
        events.push({ ...fields, event: 'deferred', phase: o.phase, category: o.category, detail: o.detail });
        if (o.ambiguous)
          events.push({
            ...fields,
            event: 'ambiguous',
            phase: o.phase,
            category: o.category,
            detail: o.detail,
          });
        break;
      case 'bounced': {
        // The event keeps the category (reports, search) and names the action taken on it.
        events.push({
          ...fields,
          event: 'bounced',
          phase: o.phase,
          category: o.category,
          detail: `${o.detail}; action ${o.action}`,
        });
        const origin = suppressionOriginFor(o);
        if (origin)
          suppressions.push({
            tenantId: ctx.tenantId,
            email: address,
            origin,
            reason: o.category,
            sourceMessageId: ctx.messageId,
          });
        break;
      }
    }
    updates.push({
      messageId: ctx.messageId,
      address,
      state: o.kind,
      lastReply: reply ? formatSmtpReply(reply) : o.kind === 'delivered' ? null : o.detail,
      attempted: true,
    });
  }
  // Once per message: a unique index drops repeats from later attempts.
  if (anyDeferred) events.push({ ...ctx, ...none, event: 'delivery_delayed', recipient: null });
  return { events, updates, suppressions };
}

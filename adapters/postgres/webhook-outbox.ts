import { EVENT_NAMES } from '../../core/events.js';
import { webhookEventFor } from '../../core/webhooks/events.js';

/**
 * core/webhooks/events.ts's mapping as an SQL table, built once from the pure function so
 * the two cannot drift: (delivery event, webhook event type, one per message?).
 */
const MAP_ROWS = EVENT_NAMES.flatMap((name) => {
  const m = webhookEventFor(name);
  return m ? [`('${name}', '${m.type}', ${m.perMessage})`] : [];
});
const WEBHOOK_EVENT_MAP = `(VALUES ${MAP_ROWS.join(', ')}) AS webhook_map(event, type, per_message)`;

/**
 * The outbox insert for the delivery events a data-modifying CTE named `source` returned
 * (`RETURNING id, at, message_id, tenant_id, event`): one row per subscribed, enabled webhook
 * and event, in the same statement (and so the same transaction) that records the events.
 * One INSERT … SELECT per batch, whatever its size; with no webhooks it joins nothing.
 * Returns the webhook ids, so the node can wake their endpoint actors.
 */
export function outboxInsertFrom(source: string): string {
  const key = 'CASE WHEN webhook_map.per_message THEN 0 ELSE ev.id END';
  return `INSERT INTO webhook_events (webhook_id, delivery_event_id, delivery_event_at, type)
    SELECT DISTINCT ON (w.id, ev.message_id, webhook_map.type, ${key}) w.id, ev.id, ev.at, webhook_map.type
    FROM ${source} ev
    JOIN ${WEBHOOK_EVENT_MAP} ON webhook_map.event = ev.event
    JOIN webhooks w ON w.tenant_id = ev.tenant_id AND w.status = 'enabled' AND webhook_map.type = ANY (w.events)
    ORDER BY w.id, ev.message_id, webhook_map.type, ${key}, ev.id
    RETURNING webhook_id`;
}

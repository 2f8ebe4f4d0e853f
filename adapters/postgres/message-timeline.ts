import type { Db } from './db.js';
import { type EventRow, queryEvents } from './events-query.js';

/** One message as an operator debugs it: what was accepted, where each recipient stands, every event. */
export interface MessageTimeline {
  readonly message: {
    id: string;
    tenant: string;
    from: string;
    subject: string;
    to: string[];
    message_type: string;
    sending_domain: string;
    created_at: Date;
    scheduled_at: Date | null;
    workflow_started: boolean;
  };
  readonly recipients: { address: string; state: string; attempts: number; last_reply: string | null }[];
  readonly events: EventRow[];
}

/** Most events a timeline shows (a message retried for days has a few dozen). */
const MAX_EVENTS = 1000;

export async function messageTimeline(db: Db, id: string): Promise<MessageTimeline | null> {
  const m = await db.query<MessageTimeline['message']>(
    `SELECT m.id, t.name AS tenant, m.from_header AS "from", m.subject, m.to_addrs AS "to", m.message_type,
            d.name AS sending_domain, m.created_at, m.scheduled_at, m.workflow_started
     FROM messages m JOIN tenants t ON t.id = m.tenant_id JOIN domains d ON d.id = m.domain_id
     WHERE m.id = $1`,
    [id],
  );
  const message = m.rows[0];
  if (!message) return null;
  const recipients = await db.query<MessageTimeline['recipients'][number]>(
    'SELECT address, state, attempts, last_reply FROM recipients WHERE message_id = $1 ORDER BY idx',
    [id],
  );
  const events = await queryEvents(db, { messageId: id, limit: MAX_EVENTS });
  return { message, recipients: recipients.rows, events };
}

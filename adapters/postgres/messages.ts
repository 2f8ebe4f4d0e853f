import type { DeliveryEvent } from '../../core/events.js';
import type { Db } from './db.js';

export interface NewMessage {
  readonly id: string;
  readonly tenantId: string;
  readonly domainId: string;
  readonly messageType: string;
  readonly fromHeader: string;
  readonly subject: string;
  readonly to: readonly string[];
  readonly cc: readonly string[] | null;
  readonly bcc: readonly string[] | null;
  readonly replyTo: readonly string[] | null;
  readonly html: string | null;
  readonly text: string | null;
  readonly tags: readonly { name: string; value: string }[] | null;
  readonly messageIdHeader: string;
  readonly mime: Buffer;
  /** Envelope recipients, deduplicated, with their domains; suppressed ones are never tried. */
  readonly recipients: readonly { address: string; domain: string; state: 'queued' | 'suppressed' }[];
}

/** The email object of `GET /emails/{id}` before it is shaped for the wire. */
export interface StoredEmail {
  id: string;
  seq: number;
  from: string;
  to: string[];
  cc: string[] | null;
  bcc: string[] | null;
  reply_to: string[] | null;
  subject: string;
  html: string | null;
  text: string | null;
  message_id: string;
  tags: { name: string; value: string }[] | null;
  created_at: Date;
  scheduled_at: Date | null;
  last_event: string | null;
}

/** What the delivery activity needs, read once per attempt. */
export interface MessageForDelivery {
  id: string;
  tenantId: string;
  sendingDomain: string;
  messageType: string;
  mime: Buffer;
  tenantName: string;
  /** The tenant requires TLS for delivery (tenants.require_tls): STARTTLS, never plaintext. */
  requireTls: boolean;
  /** Envelope recipient → its 1-based index (for the VERP return path). */
  recipientIndex: Record<string, number>;
  /** Envelope recipient → its state in the journal (queued, deferred, delivered, bounced …). */
  recipientState: Record<string, string>;
}

const EMAIL_COLUMNS = `m.id, m.seq, m.from_header AS "from", m.to_addrs AS "to", m.cc_addrs AS cc, m.bcc_addrs AS bcc,
  m.reply_to, m.subject, m.html, m.text_body AS text, m.message_id_hdr AS message_id, m.tags, m.created_at, m.scheduled_at,
  (SELECT e.event FROM delivery_events e WHERE e.message_id = m.id
     AND e.event IN ('queued', 'delivered', 'delivery_delayed', 'bounced', 'failed', 'suppressed', 'complained')
     ORDER BY e.id DESC LIMIT 1) AS last_event`;

const json = (v: unknown) => (v === null ? null : JSON.stringify(v));

export function messageStore(db: Db) {
  return {
    /** Stores the message, its recipients and its first events in one transaction. */
    async insert(m: NewMessage, events: readonly DeliveryEvent[]): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO messages (id, tenant_id, domain_id, message_type, from_header, subject, to_addrs, cc_addrs,
             bcc_addrs, reply_to, html, text_body, tags, message_id_hdr, mime)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
          [
            m.id,
            m.tenantId,
            m.domainId,
            m.messageType,
            m.fromHeader,
            m.subject,
            json(m.to),
            json(m.cc),
            json(m.bcc),
            json(m.replyTo),
            m.html,
            m.text,
            json(m.tags),
            m.messageIdHeader,
            m.mime,
          ],
        );
        await tx.query(
          `INSERT INTO recipients (message_id, idx, address, domain, state)
           SELECT $1, i, a, d, s FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(a, d, s, i)`,
          [
            m.id,
            m.recipients.map((r) => r.address),
            m.recipients.map((r) => r.domain),
            m.recipients.map((r) => r.state),
          ],
        );
        await tx.query(
          `INSERT INTO delivery_events (message_id, tenant_id, event, recipient, sending_domain, recipient_domain, message_type, detail)
           SELECT $1, $2, e, r, sd, rd, $3, d FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS u(e, r, sd, rd, d)`,
          [
            m.id,
            m.tenantId,
            m.messageType,
            events.map((e) => e.event),
            events.map((e) => e.recipient),
            events.map((e) => e.sendingDomain),
            events.map((e) => e.recipientDomain),
            events.map((e) => e.detail),
          ],
        );
      });
    },

    /** Removes a message whose workflow could not be started, so nothing half-accepted stays. */
    async remove(id: string): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.query('DELETE FROM delivery_events WHERE message_id = $1', [id]);
        await tx.query('DELETE FROM messages WHERE id = $1', [id]);
      });
    },

    async get(tenantId: string, id: string): Promise<StoredEmail | null> {
      const r = await db.query<StoredEmail>(
        `SELECT ${EMAIL_COLUMNS} FROM messages m WHERE m.tenant_id = $1 AND m.id = $2`,
        [tenantId, id],
      );
      return r.rows[0] ?? null;
    },

    /**
     * Newest first. `after` pages to older messages than the given id, `before` to newer
     * ones; returns one row more than `limit` so the caller can tell `has_more`.
     */
    async list(
      tenantId: string,
      limit: number,
      cursor: { after?: string; before?: string },
    ): Promise<StoredEmail[]> {
      if (cursor.before) {
        const r = await db.query<StoredEmail>(
          `SELECT * FROM (SELECT ${EMAIL_COLUMNS} FROM messages m
             WHERE m.tenant_id = $1 AND m.seq > (SELECT seq FROM messages WHERE id = $2 AND tenant_id = $1)
             ORDER BY m.seq ASC LIMIT $3) x ORDER BY seq DESC`,
          [tenantId, cursor.before, limit + 1],
        );
        return r.rows;
      }
      const r = await db.query<StoredEmail>(
        `SELECT ${EMAIL_COLUMNS} FROM messages m
         WHERE m.tenant_id = $1 AND ($2::uuid IS NULL OR m.seq < (SELECT seq FROM messages WHERE id = $2 AND tenant_id = $1))
         ORDER BY m.seq DESC LIMIT $3`,
        [tenantId, cursor.after ?? null, limit + 1],
      );
      return r.rows;
    },

    async exists(tenantId: string, id: string): Promise<boolean> {
      const r = await db.query('SELECT 1 FROM messages WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return r.rowCount === 1;
    },

    /** A message's envelope recipients by index, for mapping reports back (null if unknown). */
    async envelopeOf(id: string): Promise<{
      tenantId: string;
      sendingDomain: string;
      messageType: string;
      recipients: { idx: number; address: string }[];
    } | null> {
      const m = await db.query<{ tenantId: string; sendingDomain: string; messageType: string }>(
        `SELECT m.tenant_id AS "tenantId", d.name AS "sendingDomain", m.message_type AS "messageType"
         FROM messages m JOIN domains d ON d.id = m.domain_id WHERE m.id = $1`,
        [id],
      );
      if (!m.rows[0]) return null;
      const r = await db.query<{ idx: number; address: string }>(
        'SELECT idx, address FROM recipients WHERE message_id = $1 ORDER BY idx',
        [id],
      );
      return { ...m.rows[0], recipients: r.rows };
    },

    async forDelivery(id: string): Promise<MessageForDelivery | null> {
      const r = await db.query<MessageForDelivery>(
        `SELECT m.id, m.tenant_id AS "tenantId", t.name AS "tenantName", t.require_tls AS "requireTls",
                d.name AS "sendingDomain",
                m.message_type AS "messageType", m.mime,
                (SELECT jsonb_object_agg(r.address, r.idx) FROM recipients r WHERE r.message_id = m.id) AS "recipientIndex",
                (SELECT jsonb_object_agg(r.address, r.state) FROM recipients r WHERE r.message_id = m.id) AS "recipientState"
         FROM messages m JOIN domains d ON d.id = m.domain_id JOIN tenants t ON t.id = m.tenant_id WHERE m.id = $1`,
        [id],
      );
      return r.rows[0] ?? null;
    },
  };
}

export type MessageStore = ReturnType<typeof messageStore>;

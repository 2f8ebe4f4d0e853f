import { type DeliveryEvent, SUPPRESSED_DETAIL } from '../../core/events.js';
import { suppressionKey } from '../../core/suppression.js';
import type { Db, Queryable } from './db.js';
import { packColumns, unpackedBytea, unpackedText } from './packed-blobs.js';
import { pageBySeq } from './seq-page.js';
import { outboxInsertFrom } from './webhook-outbox.js';

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
  /**
   * Envelope recipients, deduplicated, with their domains. Stored `queued`, or `suppressed`
   * when on the tenant's suppression list (found by the insert itself; never tried).
   */
  readonly recipients: readonly { address: string; domain: string }[];
  /** scheduled_at, ms since the epoch; null: send now. */
  readonly scheduledAtMs: number | null;
  /** The node that accepted it (its start sweeper hands it over first). */
  readonly acceptedNode: string;
}

/** What `insert` wrote besides the rows it was given. */
export interface InsertedMessages {
  /** The webhooks that got outbox rows (to wake). */
  readonly webhooks: readonly string[];
  /** The recipients found on their tenant's suppression list, stored `suppressed`. */
  readonly suppressed: readonly { messageId: string; recipient: string }[];
}

/** A committed message whose workflow has not been confirmed started (see unstarted()). */
export interface UnstartedMessage {
  id: string;
  tenantName: string;
  sendingDomain: string;
  messageType: string;
  createdAtMs: number;
  scheduledAtMs: number | null;
  /** Envelope recipients to deliver to (the suppressed ones excluded). */
  recipients: string[];
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
  /** When it was accepted (created_at), ms since the epoch. */
  acceptedAtMs: number;
}

// `e.at >= m.created_at` lets the planner skip the delivery log's days before the message
// (migrations/015_delivery_events_by_day.sql): no event of a message predates it.
const EMAIL_COLUMNS = `m.id, m.seq, m.from_header AS "from", m.to_addrs AS "to", m.cc_addrs AS cc, m.bcc_addrs AS bcc,
  m.reply_to, m.subject, m.html, m.text_body AS text, m.message_id_hdr AS message_id, m.tags, m.created_at, m.scheduled_at,
  (SELECT e.event FROM delivery_events e WHERE e.message_id = m.id AND e.at >= m.created_at
     AND e.event IN ('scheduled', 'canceled', 'queued', 'delivered', 'delivery_delayed', 'bounced', 'failed',
                     'suppressed', 'complained')
     ORDER BY e.id DESC LIMIT 1) AS last_event`;

const json = (v: unknown) => (v === null ? null : JSON.stringify(v));

export function messageStore(db: Db) {
  /** Messages as the delivery activities read them, one round trip for all. */
  async function forDeliveryMany(ids: readonly string[]): Promise<MessageForDelivery[]> {
    if (ids.length === 0) return [];
    const r = await db.query<MessageForDelivery>(
      `SELECT m.id, m.tenant_id AS "tenantId", t.name AS "tenantName", t.require_tls AS "requireTls",
              d.name AS "sendingDomain", m.message_type AS "messageType", m.mime,
              (extract(epoch FROM m.created_at) * 1000)::float8 AS "acceptedAtMs",
              (SELECT jsonb_object_agg(r.address, r.idx) FROM recipients r WHERE r.message_id = m.id) AS "recipientIndex",
              (SELECT jsonb_object_agg(r.address, r.state) FROM recipients r WHERE r.message_id = m.id) AS "recipientState"
       FROM messages m JOIN domains d ON d.id = m.domain_id JOIN tenants t ON t.id = m.tenant_id
       WHERE m.id = ANY($1::uuid[])`,
      [ids],
    );
    return r.rows;
  }

  return {
    /**
     * Stores messages, their recipients and their first events atomically: all of them or
     * none, in one statement whatever the number of messages. The same statement reads the
     * tenants' suppression lists (in its own snapshot, so no second round trip and no gap
     * between the check and the write): a recipient on the list is stored `suppressed`, its
     * first event becomes `suppressed` with SUPPRESSED_DETAIL, and a message with no other
     * recipient is marked started (nothing to deliver). The events queue their webhooks in
     * the same statement. Returns the webhooks that got rows and the suppressed recipients.
     */
    async insert(
      batch: readonly { message: NewMessage; events: readonly DeliveryEvent[] }[],
    ): Promise<InsertedMessages> {
      const ms = batch.map((b) => b.message);
      const rs = ms.flatMap((m) =>
        m.recipients.map((r, i) => ({ id: m.id, tenantId: m.tenantId, idx: i + 1, ...r })),
      );
      const es = batch.flatMap((b) => b.events);
      // One statement, so one round trip and atomic without BEGIN/COMMIT; the foreign keys
      // are checked at its end, when the messages are in.
      // html, text and MIME go packed in one binary parameter ($12), not in text arrays.
      const bodies = packColumns(ms.map((m) => [m.html, m.text, m.mime]));
      const [html, text, mime] = [0, 1, 2].map((c) => [bodies.offsets[c], bodies.lengths[c]]);
      const written = await db.query<{
        webhooks: string[];
        suppressed: { messageId: string; recipient: string }[];
      }>(
        `WITH rs AS MATERIALIZED (
           SELECT u.mid, u.idx, u.address, u.domain, s.id IS NOT NULL AS suppressed, u.n
           FROM unnest($22::uuid[], $23::int[], $24::text[], $25::text[], $26::uuid[], $27::text[])
             WITH ORDINALITY AS u(mid, idx, address, domain, tenant_id, key, n)
           LEFT JOIN suppressions s ON s.tenant_id = u.tenant_id AND s.email = u.key
         ), m AS (
           INSERT INTO messages (id, tenant_id, domain_id, message_type, from_header, subject, to_addrs, cc_addrs,
             bcc_addrs, reply_to, html, text_body, tags, message_id_hdr, mime, scheduled_at, workflow_started, accepted_node)
           SELECT id, t, d, mt, f, s, ta::jsonb, c::jsonb, b::jsonb, r::jsonb,
                  ${unpackedText('$12::bytea', 'ho', 'hl')}, ${unpackedText('$12::bytea', 'tbo', 'tbl')},
                  tg::jsonb, mid, ${unpackedBytea('$12::bytea', 'mo', 'ml')}, sa,
                  -- Nothing to start when every recipient is suppressed.
                  NOT EXISTS (SELECT 1 FROM rs WHERE rs.mid = u.id AND NOT rs.suppressed),
                  an
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                       $9::text[], $10::text[], $11::text[], $13::int[], $14::int[], $15::int[], $16::int[],
                       $17::text[], $18::int[], $19::int[], $20::timestamptz[], $21::text[])
             WITH ORDINALITY AS u(id, t, d, mt, f, s, ta, c, b, r, tg, ho, hl, tbo, tbl, mid, mo, ml, sa, an, n)
           ORDER BY n
         ), r AS (
           INSERT INTO recipients (message_id, idx, address, domain, state)
           SELECT mid, idx, address, domain, CASE WHEN suppressed THEN 'suppressed' ELSE 'queued' END
           FROM rs ORDER BY n
         ), e AS (
           INSERT INTO delivery_events (message_id, tenant_id, event, recipient, sending_domain, recipient_domain, message_type, detail)
           SELECT u.m, u.t, CASE WHEN rs.suppressed THEN 'suppressed' ELSE u.ev END, u.rcpt, u.sd, u.rd, u.mt,
                  CASE WHEN rs.suppressed THEN $36 ELSE u.detail END
           FROM unnest($28::uuid[], $29::uuid[], $30::text[], $31::text[], $32::text[], $33::text[], $34::text[], $35::text[])
             WITH ORDINALITY AS u(m, t, ev, rcpt, sd, rd, mt, detail, n)
           LEFT JOIN rs ON rs.mid = u.m AND rs.address = u.rcpt
           ORDER BY u.n
           RETURNING id, at, message_id, tenant_id, event
         ), o AS (
           ${outboxInsertFrom('e')}
         )
         SELECT ARRAY(SELECT DISTINCT webhook_id FROM o) AS webhooks,
                coalesce((SELECT json_agg(json_build_object('messageId', mid, 'recipient', address) ORDER BY n)
                          FROM rs WHERE suppressed), '[]') AS suppressed`,
        [
          ms.map((m) => m.id),
          ms.map((m) => m.tenantId),
          ms.map((m) => m.domainId),
          ms.map((m) => m.messageType),
          ms.map((m) => m.fromHeader),
          ms.map((m) => m.subject),
          ms.map((m) => json(m.to)),
          ms.map((m) => json(m.cc)),
          ms.map((m) => json(m.bcc)),
          ms.map((m) => json(m.replyTo)),
          ms.map((m) => json(m.tags)),
          bodies.blob,
          ...html!,
          ...text!,
          ms.map((m) => m.messageIdHeader),
          ...mime!,
          ms.map((m) => (m.scheduledAtMs === null ? null : new Date(m.scheduledAtMs))),
          ms.map((m) => m.acceptedNode),
          rs.map((r) => r.id),
          rs.map((r) => r.idx),
          rs.map((r) => r.address),
          rs.map((r) => r.domain),
          rs.map((r) => r.tenantId),
          rs.map((r) => suppressionKey(r.address)),
          es.map((e) => e.messageId),
          es.map((e) => e.tenantId),
          es.map((e) => e.event),
          es.map((e) => e.recipient),
          es.map((e) => e.sendingDomain),
          es.map((e) => e.recipientDomain),
          es.map((e) => e.messageType),
          es.map((e) => e.detail),
          SUPPRESSED_DETAIL,
        ],
      );
      const row = written.rows[0]!;
      return { webhooks: row.webhooks, suppressed: row.suppressed };
    },

    /** Records that these messages' workflows exist. */
    async markStarted(ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return;
      await db.query('UPDATE messages SET workflow_started = true WHERE id = ANY($1::uuid[])', [ids]);
    },

    /**
     * Committed messages whose first workflow was never confirmed started, oldest first:
     * those accepted by `node` once `ownGraceSec` has passed when `idle` (the node's former
     * holds none of them then), else once `anyGraceSec` has passed (a node under steady
     * load is never idle, and a start that failed must not wait for a lull); other nodes'
     * after `anyGraceSec` (their node died and has not come back, or cannot reach Temporal).
     */
    async unstarted(
      node: string,
      idle: boolean,
      ownGraceSec: number,
      anyGraceSec: number,
      limit: number,
    ): Promise<UnstartedMessage[]> {
      const r = await db.query<UnstartedMessage>(
        `SELECT m.id, t.name AS "tenantName", d.name AS "sendingDomain", m.message_type AS "messageType",
                (extract(epoch FROM m.created_at) * 1000)::float8 AS "createdAtMs",
                (extract(epoch FROM m.scheduled_at) * 1000)::float8 AS "scheduledAtMs",
                ARRAY(SELECT r.address FROM recipients r WHERE r.message_id = m.id AND r.state <> 'suppressed'
                      ORDER BY r.idx) AS recipients
         FROM messages m JOIN domains d ON d.id = m.domain_id JOIN tenants t ON t.id = m.tenant_id
         WHERE NOT m.workflow_started
           AND m.created_at < now() - make_interval(secs => CASE WHEN $2::boolean AND m.accepted_node = $1 THEN $3::float8 ELSE $4::float8 END)
         ORDER BY m.created_at LIMIT $5`,
        [node, idle, ownGraceSec, anyGraceSec, limit],
      );
      return r.rows;
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
      return pageBySeq<StoredEmail>(db, {
        columns: EMAIL_COLUMNS,
        from: 'messages m',
        alias: 'm',
        table: 'messages',
        where: 'm.tenant_id = $1',
        cursorScope: 'tenant_id = $1',
        values: [tenantId],
        limit,
        cursor,
      });
    },

    /** Records a scheduled message's new send time (what GET /emails/{id} shows). */
    async setScheduledAt(id: string, atMs: number): Promise<void> {
      await db.query('UPDATE messages SET scheduled_at = $2 WHERE id = $1', [id, new Date(atMs)]);
    },

    /** The stored body, or null when the message is gone. */
    async mimeOf(id: string): Promise<Buffer | null> {
      const r = await db.query<{ mime: Buffer }>('SELECT mime FROM messages WHERE id = $1', [id]);
      return r.rows[0]?.mime ?? null;
    },

    async replaceMime(id: string, mime: Buffer): Promise<void> {
      await db.query('UPDATE messages SET mime = $2 WHERE id = $1', [id, mime]);
    },

    /**
     * What PATCH and cancel need to know of one of the tenant's messages: whether it was
     * scheduled and whether its workflow was started; null when it is not the tenant's.
     */
    async scheduleOf(
      tenantId: string,
      id: string,
    ): Promise<{ scheduled: boolean; workflowStarted: boolean } | null> {
      const r = await db.query<{ scheduled: boolean; workflowStarted: boolean }>(
        `SELECT scheduled_at IS NOT NULL AS scheduled, workflow_started AS "workflowStarted"
         FROM messages WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id],
      );
      return r.rows[0] ?? null;
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
      return (await forDeliveryMany([id]))[0] ?? null;
    },

    forDeliveryMany,

    /**
     * Claims messages for one delivery wave before any SMTP transaction: returns the ids this
     * wave may deliver, those unclaimed or already its own (a wave run again after a crash).
     * A message claimed by another wave is that wave's, so no two waves send it. The claim
     * also records the message's first workflow as started (the start sweeper's mark): one
     * row version per message instead of a second UPDATE when the start returns. A wave
     * started but not yet run can therefore be swept into a second wave, whose claim then
     * finds its messages taken.
     */
    async claimForWave(waveId: string, ids: readonly string[]): Promise<string[]> {
      const r = await db.query<{ id: string }>(
        `UPDATE messages SET wave_id = $1, workflow_started = true
         WHERE id = ANY($2::uuid[]) AND (wave_id IS NULL OR wave_id = $1) RETURNING id`,
        [waveId, ids],
      );
      return r.rows.map((row) => row.id);
    },
  };
}

export type MessageStore = ReturnType<typeof messageStore>;

/**
 * After a restore into a new deployment (its Temporal knows none of these messages):
 * messages with a recipient still queued or deferred are handed to Temporal again by the
 * start sweeper, as if just accepted; their wave claim is cleared so a new wave can take
 * them. Returns how many.
 */
export async function handBackUnfinished(q: Queryable): Promise<number> {
  const r = await q.query(
    `UPDATE messages m SET workflow_started = false, wave_id = NULL
     WHERE m.workflow_started AND EXISTS (
       SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state IN ('queued', 'deferred'))`,
  );
  return r.rowCount ?? 0;
}

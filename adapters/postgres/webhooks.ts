import type {
  WebhookEventType,
  WebhookSourceEvent,
  WebhookSourceMessage,
} from '../../core/webhooks/events.js';
import type { Db } from './db.js';
import { pageBySeq } from './seq-page.js';

export type WebhookStatus = 'enabled' | 'disabled';

export interface Webhook {
  id: string;
  tenantId: string;
  endpoint: string;
  events: WebhookEventType[];
  status: WebhookStatus;
  disabledReason: 'manual' | 'failing' | null;
  disabledAt: Date | null;
  signingSecret: string;
  previousSecret: string | null;
  previousSecretUntil: Date | null;
  failingSince: Date | null;
  createdAt: Date;
}

export type WebhookEventStatus = 'pending' | 'attempting' | 'success' | 'failed';

export interface WebhookEventRow {
  id: string;
  webhookId: string;
  type: WebhookEventType;
  status: WebhookEventStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  createdAt: Date;
}

/** A queued event with what its payload is built from. */
export interface WebhookEventWithSource extends WebhookEventRow {
  source: WebhookSourceEvent;
  message: WebhookSourceMessage;
}

export type AttemptOutcome = 'success' | 'http_error' | 'refused' | 'network';

export interface WebhookAttempt {
  id: string;
  eventId: string;
  sentAt: Date;
  outcome: AttemptOutcome;
  httpStatusCode: number | null;
  response: string | null;
  durationMs: number;
}

/** What one attempt did, and what becomes of its event. */
export interface AttemptResult {
  readonly eventId: string;
  readonly sentAtMs: number;
  readonly outcome: AttemptOutcome;
  readonly httpStatusCode: number | null;
  readonly response: string | null;
  readonly durationMs: number;
  /** Next try, ms since the epoch; null: done (success, or the schedule ran out). */
  readonly nextAttemptAtMs: number | null;
}

const WEBHOOK_COLUMNS = `w.id, w.tenant_id AS "tenantId", w.endpoint, w.events, w.status,
  w.disabled_reason AS "disabledReason", w.disabled_at AS "disabledAt", w.signing_secret AS "signingSecret",
  w.previous_secret AS "previousSecret", w.previous_secret_until AS "previousSecretUntil",
  w.failing_since AS "failingSince", w.created_at AS "createdAt"`;

const EVENT_COLUMNS = `we.id, we.webhook_id AS "webhookId", we.type, we.status, we.attempts,
  we.next_attempt_at AS "nextAttemptAt", we.created_at AS "createdAt"`;

/** The delivery event and message behind each webhook event, as the payload builder reads them. */
const SOURCE_COLUMNS = `json_build_object(
    'event', de.event, 'at', to_char(de.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'recipient', de.recipient, 'category', de.category, 'replyCode', de.reply_code,
    'enhancedStatus', de.enhanced_status, 'replyText', de.reply_text, 'mxHost', de.mx_host,
    'ip', de.ip, 'provider', de.provider, 'detail', de.detail) AS source,
  json_build_object(
    'id', m.id, 'from', m.from_header, 'to', m.to_addrs, 'subject', m.subject,
    'createdAt', to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'tags', m.tags, 'messageId', m.message_id_hdr) AS message`;

/**
 * A webhook event's delivery event and message. By (id, at): the delivery log is partitioned
 * by day, and `at` prunes the join to the event's day (migrations/017).
 */
export const SOURCE_JOINS = `JOIN delivery_events de ON de.id = we.delivery_event_id AND de.at = we.delivery_event_at
  JOIN messages m ON m.id = de.message_id`;

export function webhookStore(db: Db) {
  return {
    async create(w: {
      id: string;
      tenantId: string;
      endpoint: string;
      events: readonly string[];
      signingSecret: string;
    }): Promise<Webhook> {
      const r = await db.query<Webhook>(
        `INSERT INTO webhooks AS w (id, tenant_id, endpoint, events, signing_secret) VALUES ($1, $2, $3, $4, $5)
         RETURNING ${WEBHOOK_COLUMNS}`,
        [w.id, w.tenantId, w.endpoint, w.events, w.signingSecret],
      );
      return r.rows[0]!;
    },

    async get(tenantId: string, id: string): Promise<Webhook | null> {
      const r = await db.query<Webhook>(
        `SELECT ${WEBHOOK_COLUMNS} FROM webhooks w WHERE w.tenant_id = $1 AND w.id = $2`,
        [tenantId, id],
      );
      return r.rows[0] ?? null;
    },

    /** Any tenant's webhook, for its endpoint actor. */
    async byId(id: string): Promise<Webhook | null> {
      const r = await db.query<Webhook>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks w WHERE w.id = $1`, [id]);
      return r.rows[0] ?? null;
    },

    /** Newest first; `after` pages to older ones. One row more than `limit` tells has_more. */
    async list(
      tenantId: string,
      limit: number,
      cursor: { after?: string; before?: string },
    ): Promise<Webhook[]> {
      return pageBySeq<Webhook>(db, {
        columns: WEBHOOK_COLUMNS,
        from: 'webhooks w',
        alias: 'w',
        table: 'webhooks',
        where: 'w.tenant_id = $1',
        cursorScope: 'tenant_id = $1',
        values: [tenantId],
        limit,
        cursor,
      });
    },

    /** Webhooks of a tenant by name, for the CLI. */
    async listByTenantName(tenantName: string): Promise<Webhook[]> {
      const r = await db.query<Webhook>(
        `SELECT ${WEBHOOK_COLUMNS} FROM webhooks w JOIN tenants t ON t.id = w.tenant_id WHERE t.name = $1 ORDER BY w.seq`,
        [tenantName],
      );
      return r.rows;
    },

    /**
     * Changes what is given. Enabling clears the failing record (a fresh start); disabling
     * by hand records `manual`. Returns the webhook after the change, or null.
     */
    async update(
      tenantId: string,
      id: string,
      patch: { endpoint?: string; events?: readonly string[]; status?: WebhookStatus },
    ): Promise<Webhook | null> {
      const r = await db.query<Webhook>(
        `UPDATE webhooks w SET
           endpoint = COALESCE($3, w.endpoint),
           events = COALESCE($4, w.events),
           status = COALESCE($5, w.status),
           disabled_reason = CASE WHEN $5 = 'enabled' THEN NULL
                                  WHEN $5 = 'disabled' AND w.status = 'enabled' THEN 'manual' ELSE w.disabled_reason END,
           disabled_at = CASE WHEN $5 = 'enabled' THEN NULL
                              WHEN $5 = 'disabled' AND w.status = 'enabled' THEN now() ELSE w.disabled_at END,
           failing_since = CASE WHEN $5 = 'enabled' THEN NULL ELSE w.failing_since END
         WHERE w.tenant_id = $1 AND w.id = $2
         RETURNING ${WEBHOOK_COLUMNS}`,
        [tenantId, id, patch.endpoint ?? null, patch.events ?? null, patch.status ?? null],
      );
      return r.rows[0] ?? null;
    },

    async remove(tenantId: string, id: string): Promise<boolean> {
      const r = await db.query('DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return r.rowCount === 1;
    },

    /** A new secret; the old one keeps signing for `graceMs` (receivers switch over meanwhile). */
    async rotate(tenantId: string, id: string, secret: string, graceMs: number): Promise<Webhook | null> {
      const r = await db.query<Webhook>(
        `UPDATE webhooks w SET previous_secret = w.signing_secret, signing_secret = $3,
           previous_secret_until = now() + make_interval(secs => $4::float8 / 1000)
         WHERE w.tenant_id = $1 AND w.id = $2 RETURNING ${WEBHOOK_COLUMNS}`,
        [tenantId, id, secret, graceMs],
      );
      return r.rows[0] ?? null;
    },

    /** A webhook's events, newest first (the deliveries log). */
    async events(
      tenantId: string,
      webhookId: string,
      limit: number,
      cursor: { after?: string; before?: string },
    ): Promise<WebhookEventRow[]> {
      return pageBySeq<WebhookEventRow>(db, {
        columns: EVENT_COLUMNS,
        from: 'webhook_events we JOIN webhooks w ON w.id = we.webhook_id',
        alias: 'we',
        table: 'webhook_events',
        where: 'w.tenant_id = $1 AND we.webhook_id = $2',
        cursorScope: 'webhook_id = $2',
        values: [tenantId, webhookId],
        limit,
        cursor,
      });
    },

    async event(
      tenantId: string,
      webhookId: string,
      eventId: string,
    ): Promise<WebhookEventWithSource | null> {
      const r = await db.query<WebhookEventWithSource>(
        `SELECT ${EVENT_COLUMNS}, ${SOURCE_COLUMNS}
         FROM webhook_events we JOIN webhooks w ON w.id = we.webhook_id ${SOURCE_JOINS}
         WHERE w.tenant_id = $1 AND we.webhook_id = $2 AND we.id = $3`,
        [tenantId, webhookId, eventId],
      );
      return r.rows[0] ?? null;
    },

    async attempts(tenantId: string, webhookId: string, eventId: string): Promise<WebhookAttempt[] | null> {
      const owned = await db.query(
        `SELECT 1 FROM webhook_events we JOIN webhooks w ON w.id = we.webhook_id
         WHERE w.tenant_id = $1 AND we.webhook_id = $2 AND we.id = $3`,
        [tenantId, webhookId, eventId],
      );
      if (owned.rowCount !== 1) return null;
      const r = await db.query<WebhookAttempt>(
        `SELECT id, event_id AS "eventId", sent_at AS "sentAt", outcome, http_status_code AS "httpStatusCode",
                response, duration_ms AS "durationMs"
         FROM webhook_attempts WHERE event_id = $1 ORDER BY seq DESC`,
        [eventId],
      );
      return r.rows;
    },

    /**
     * Sends an event again, with the same id: due now, with a fresh retry schedule. Returns
     * false when the tenant has no such event.
     */
    async replay(tenantId: string, webhookId: string, eventId: string): Promise<boolean> {
      const r = await db.query(
        `UPDATE webhook_events we SET status = 'pending', attempts = 0, next_attempt_at = now()
         FROM webhooks w WHERE w.id = we.webhook_id AND w.tenant_id = $1 AND we.webhook_id = $2 AND we.id = $3`,
        [tenantId, webhookId, eventId],
      );
      return r.rowCount === 1;
    },

    /**
     * Claims up to `limit` due events of one webhook for `leaseMs`: they are `attempting`
     * until the lease ends, then due again (a claimer that died). `reclaim` takes events
     * still under another claim too: the endpoint's actor runs one drain at a time, so a
     * retried drain finds only its dead predecessor's claims.
     */
    async claim(
      webhookId: string,
      limit: number,
      leaseMs: number,
      reclaim: boolean,
    ): Promise<WebhookEventWithSource[]> {
      const r = await db.query<WebhookEventWithSource>(
        `WITH c AS (
           UPDATE webhook_events we SET status = 'attempting',
             next_attempt_at = now() + make_interval(secs => $3::float8 / 1000)
           WHERE we.id IN (
             SELECT id FROM webhook_events
             WHERE webhook_id = $1 AND status IN ('pending', 'attempting')
               AND (next_attempt_at <= now() OR ($4 AND status = 'attempting'))
             ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING we.*
         )
         SELECT ${EVENT_COLUMNS}, ${SOURCE_COLUMNS} FROM c we ${SOURCE_JOINS}`,
        [webhookId, limit, leaseMs, reclaim],
      );
      return r.rows;
    },

    /**
     * Records a batch of attempts and their events' new state in one statement, and the
     * endpoint's health: a success clears `failing_since`, a batch of failures sets it if
     * unset. Returns the webhook's failing_since afterwards.
     */
    async record(webhookId: string, results: readonly AttemptResult[]): Promise<Date | null> {
      const anySuccess = results.some((x) => x.outcome === 'success');
      const r = await db.query<{ failing_since: Date | null }>(
        `WITH a AS (
           INSERT INTO webhook_attempts (event_id, sent_at, outcome, http_status_code, response, duration_ms)
           SELECT e, to_timestamp(s / 1000), o, c, resp, d
           FROM unnest($2::uuid[], $3::float8[], $4::text[], $5::int[], $6::text[], $7::int[]) AS u(e, s, o, c, resp, d)
         ), ev AS (
           UPDATE webhook_events we SET attempts = we.attempts + 1,
             status = CASE WHEN u.o = 'success' THEN 'success' WHEN u.n IS NULL THEN 'failed' ELSE 'pending' END,
             next_attempt_at = CASE WHEN u.o = 'success' OR u.n IS NULL THEN NULL ELSE to_timestamp(u.n / 1000) END
           FROM unnest($2::uuid[], $4::text[], $8::float8[]) AS u(e, o, n)
           WHERE we.id = u.e
         )
         UPDATE webhooks SET failing_since = CASE WHEN $9 THEN NULL ELSE COALESCE(failing_since, now()) END
         WHERE id = $1 RETURNING failing_since`,
        [
          webhookId,
          results.map((x) => x.eventId),
          results.map((x) => x.sentAtMs),
          results.map((x) => x.outcome),
          results.map((x) => x.httpStatusCode),
          results.map((x) => x.response),
          results.map((x) => Math.round(x.durationMs)),
          results.map((x) => x.nextAttemptAtMs),
          anySuccess,
        ],
      );
      return r.rows[0]?.failing_since ?? null;
    },

    /** Disables an endpoint that kept failing; false if it was not enabled. */
    async disableFailing(webhookId: string): Promise<boolean> {
      const r = await db.query(
        `UPDATE webhooks SET status = 'disabled', disabled_reason = 'failing', disabled_at = now()
         WHERE id = $1 AND status = 'enabled'`,
        [webhookId],
      );
      return r.rowCount === 1;
    },

    /** When the webhook's next event is due (ms since the epoch), or null when none waits. */
    async nextDue(webhookId: string): Promise<number | null> {
      const r = await db.query<{ at: number | null }>(
        `SELECT (extract(epoch FROM min(next_attempt_at)) * 1000)::float8 AS at FROM webhook_events
         WHERE webhook_id = $1 AND status IN ('pending', 'attempting')`,
        [webhookId],
      );
      return r.rows[0]?.at ?? null;
    },

    /** Enabled webhooks with events due for longer than `graceMs`: their actors may have missed a wake-up. */
    async overdue(graceMs: number, limit: number): Promise<string[]> {
      const r = await db.query<{ webhook_id: string }>(
        `SELECT DISTINCT we.webhook_id FROM webhook_events we JOIN webhooks w ON w.id = we.webhook_id
         WHERE we.status IN ('pending', 'attempting') AND w.status = 'enabled'
           AND we.next_attempt_at <= now() - make_interval(secs => $1::float8 / 1000)
         LIMIT $2`,
        [graceMs, limit],
      );
      return r.rows.map((row) => row.webhook_id);
    },
  };
}

export type WebhookStore = ReturnType<typeof webhookStore>;

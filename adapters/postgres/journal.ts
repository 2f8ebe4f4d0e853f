import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { DeliveryEvent, RecipientUpdate, SuppressionEntry } from '../../core/events.js';
import { suppressionKey } from '../../core/suppression.js';
import { type Db, isDatabaseUnavailable } from './db.js';
import { outboxInsertFrom } from './webhook-outbox.js';

/**
 * How long a batch waits for the database to come back before its callers get the error
 * (ms), and the longest pause between tries. A delivery whose 250 is in a batch otherwise
 * fails its activity, which sends the message again: a database restart of a few seconds
 * must not turn into duplicate mail.
 */
const OUTAGE_PATIENCE_MS = 60_000;
const MAX_BACKOFF_MS = 2_000;

/**
 * Group commit for the delivery log. Callers `append` events and recipient-state updates
 * and get a promise that settles once they are durable; every caller waiting at the same
 * moment shares one statement (multi-row INSERT and UPDATE via unnest), so the database
 * sees a round trip per batch instead of one per event.
 */
export interface Journal {
  append(
    events: readonly DeliveryEvent[],
    updates?: readonly RecipientUpdate[],
    suppressions?: readonly SuppressionEntry[],
  ): Promise<void>;
  /** Waits for everything appended so far, then stops accepting. */
  close(): Promise<void>;
  /** How long the oldest write still in flight or waiting has waited (ms); 0 when none. */
  lagMs(): number;
  /** Events committed since the journal was made: whether deliveries are making progress. */
  committedEvents(): number;
}

interface Pending {
  /** When the first append of the batch came (ms since epoch). */
  since: number;
  events: DeliveryEvent[];
  updates: RecipientUpdate[];
  suppressions: SuppressionEntry[];
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

const EVENT_COLUMNS = [
  ['message_id', 'uuid', (e: DeliveryEvent) => e.messageId],
  ['tenant_id', 'uuid', (e: DeliveryEvent) => e.tenantId],
  ['event', 'text', (e: DeliveryEvent) => e.event],
  ['recipient', 'text', (e: DeliveryEvent) => e.recipient],
  ['sending_domain', 'text', (e: DeliveryEvent) => e.sendingDomain],
  ['recipient_domain', 'text', (e: DeliveryEvent) => e.recipientDomain],
  ['message_type', 'text', (e: DeliveryEvent) => e.messageType],
  ['provider', 'text', (e: DeliveryEvent) => e.provider],
  ['pool', 'text', (e: DeliveryEvent) => e.pool],
  ['ip', 'text', (e: DeliveryEvent) => e.ip],
  ['mx_host', 'text', (e: DeliveryEvent) => e.mxHost],
  ['mx_address', 'text', (e: DeliveryEvent) => e.mxAddress],
  ['attempt', 'int', (e: DeliveryEvent) => e.attempt],
  ['reply_code', 'int', (e: DeliveryEvent) => e.replyCode],
  ['enhanced_status', 'text', (e: DeliveryEvent) => e.enhancedStatus],
  ['reply_text', 'text', (e: DeliveryEvent) => e.replyText],
  ['phase', 'text', (e: DeliveryEvent) => e.phase],
  ['category', 'text', (e: DeliveryEvent) => e.category],
  ['tls', 'text', (e: DeliveryEvent) => e.tls],
  ['duration_ms', 'int', (e: DeliveryEvent) => e.durationMs],
  ['detail', 'text', (e: DeliveryEvent) => e.detail],
] as const;

const N_EVENT = EVENT_COLUMNS.length;

/**
 * One statement per batch, so one round trip and atomic without BEGIN/COMMIT: the events,
 * the recipients' new states, and the suppressions they imply. Empty arrays insert or
 * update nothing. A terminal state is never overwritten by a late or repeated attempt
 * result, except that a later bounce report may turn delivered into bounced; the first
 * reason recorded for a suppressed address stays. The events queue their webhooks in the
 * same statement (the outbox, adapters/postgres/webhook-outbox.ts), which returns the
 * webhooks that got rows.
 */
const WRITE_BATCH = `WITH e AS (
    INSERT INTO delivery_events (${EVENT_COLUMNS.map((c) => c[0]).join(', ')})
    SELECT * FROM unnest(${EVENT_COLUMNS.map((c, i) => `$${i + 1}::${c[1]}[]`).join(', ')})
    ON CONFLICT DO NOTHING
    RETURNING id, at, message_id, tenant_id, event
  ), o AS (
    ${outboxInsertFrom('e')}
  ), u AS (
    UPDATE recipients r
    SET state = u.state, last_reply = COALESCE(u.last_reply, r.last_reply),
        attempts = r.attempts + u.attempted::int, updated_at = now()
    FROM unnest($${N_EVENT + 1}::uuid[], $${N_EVENT + 2}::text[], $${N_EVENT + 3}::text[], $${N_EVENT + 4}::text[],
                $${N_EVENT + 5}::bool[]) AS u(message_id, address, state, last_reply, attempted)
    WHERE r.message_id = u.message_id AND r.address = u.address
      AND (r.state IN ('queued', 'deferred') OR (r.state = 'delivered' AND u.state = 'bounced'))
  ), s AS (
    INSERT INTO suppressions (id, tenant_id, email, origin, reason, source_message_id)
    SELECT * FROM unnest($${N_EVENT + 6}::uuid[], $${N_EVENT + 7}::uuid[], $${N_EVENT + 8}::text[], $${N_EVENT + 9}::text[],
                         $${N_EVENT + 10}::text[], $${N_EVENT + 11}::uuid[])
    ON CONFLICT (tenant_id, email) DO NOTHING
  )
  SELECT DISTINCT webhook_id FROM o`;

/** Told of every batch once it is committed (metrics count what the table holds). */
export interface JournalObserver {
  committed(
    events: readonly DeliveryEvent[],
    batch: { events: number; updates: number; suppressions: number; waitedMs: number },
  ): void;
}

export interface JournalOptions {
  readonly observer?: JournalObserver;
  /** Called after a batch committed with the webhooks it queued events for (to wake their actors). */
  readonly onWebhookEvents?: (webhookIds: readonly string[]) => void;
}

export function createJournal(db: Db, options: JournalOptions = {}): Journal {
  let pending: Pending | null = null;
  let flushing: Promise<void> = Promise.resolve();
  let closed = false;
  /** The batch being written, if any. */
  let writing: Pending | null = null;
  let committed = 0;

  async function write(batch: Pending): Promise<void> {
    const u = batch.updates;
    const x = batch.suppressions;
    const r = await db.query<{ webhook_id: string }>(WRITE_BATCH, [
      ...EVENT_COLUMNS.map(([, , get]) => batch.events.map((e) => get(e))),
      u.map((r) => r.messageId),
      u.map((r) => r.address),
      u.map((r) => r.state),
      u.map((r) => r.lastReply),
      u.map((r) => r.attempted),
      x.map(() => randomUUID()),
      x.map((e) => e.tenantId),
      x.map((e) => suppressionKey(e.email)),
      x.map((e) => e.origin),
      x.map((e) => e.reason),
      x.map((e) => e.sourceMessageId),
    ]);
    if (r.rows.length > 0) options.onWebhookEvents?.(r.rows.map((row) => row.webhook_id));
  }

  async function writeThroughOutage(batch: Pending): Promise<void> {
    const giveUpAt = Date.now() + OUTAGE_PATIENCE_MS;
    for (let wait = 100; ; wait = Math.min(MAX_BACKOFF_MS, wait * 2)) {
      try {
        return await write(batch);
      } catch (err) {
        // A statement the server refused, or an outage that outlasted our patience.
        if (!isDatabaseUnavailable(err) || Date.now() + wait > giveUpAt) throw err;
        await delay(wait);
      }
    }
  }

  /** The observer never fails a committed batch: its callers would send their mail again. */
  function tell(batch: Pending): void {
    committed += batch.events.length;
    try {
      options.observer?.committed(batch.events, {
        events: batch.events.length,
        updates: batch.updates.length,
        suppressions: batch.suppressions.length,
        waitedMs: Date.now() - batch.since,
      });
    } catch {
      // Metrics are lost for this batch; the batch itself is committed.
    }
  }

  function flushNext(): void {
    flushing = flushing.then(async () => {
      const batch = pending;
      pending = null;
      if (!batch) return;
      writing = batch;
      try {
        await writeThroughOutage(batch);
        tell(batch);
        for (const w of batch.waiters) w.resolve();
      } catch (err) {
        for (const w of batch.waiters) w.reject(err);
      } finally {
        writing = null;
      }
    });
  }

  return {
    append(events, updates = [], suppressions = []) {
      if (closed) return Promise.reject(new Error('journal is closed'));
      if (events.length === 0 && updates.length === 0 && suppressions.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        if (!pending) {
          pending = { since: Date.now(), events: [], updates: [], suppressions: [], waiters: [] };
          // The batch fills while the previous one is being written, then goes.
          flushNext();
        }
        pending.events.push(...events);
        pending.updates.push(...updates);
        pending.suppressions.push(...suppressions);
        pending.waiters.push({ resolve, reject });
      });
    },
    async close() {
      closed = true;
      await flushing;
    },
    lagMs() {
      const oldest = writing ?? pending;
      return oldest ? Date.now() - oldest.since : 0;
    },
    committedEvents: () => committed,
  };
}

import type { Db } from './db.js';

/** Every dimension the delivery log can be cut by (README, "Debugging delivery"). */
export interface EventFilter {
  readonly tenant?: string;
  readonly messageId?: string;
  readonly sendingDomain?: string;
  readonly recipientDomain?: string;
  readonly recipient?: string;
  readonly provider?: string;
  readonly ip?: string;
  readonly pool?: string;
  readonly messageType?: string;
  readonly event?: string;
  readonly category?: string;
  /** Only events at or after this time (ms since epoch). */
  readonly sinceMs?: number;
  /** Only events before this time (ms since epoch). */
  readonly untilMs?: number;
  readonly limit: number;
}

export interface EventRow {
  id: number;
  at: Date;
  /** Null for tenant events (`paused`). */
  message_id: string | null;
  tenant: string;
  event: string;
  recipient: string | null;
  /** Null for a tenant-wide `paused`. */
  sending_domain: string | null;
  recipient_domain: string | null;
  message_type: string | null;
  provider: string | null;
  pool: string | null;
  ip: string | null;
  mx_host: string | null;
  attempt: number | null;
  reply_code: number | null;
  enhanced_status: string | null;
  reply_text: string | null;
  category: string | null;
  tls: string | null;
  duration_ms: number | null;
  detail: string | null;
}

const COLUMNS: Record<Exclude<keyof EventFilter, 'tenant' | 'sinceMs' | 'untilMs' | 'limit'>, string> = {
  messageId: 'e.message_id',
  sendingDomain: 'e.sending_domain',
  recipientDomain: 'e.recipient_domain',
  recipient: 'e.recipient',
  provider: 'e.provider',
  ip: 'e.ip',
  pool: 'e.pool',
  messageType: 'e.message_type',
  event: 'e.event',
  category: 'e.category',
};

/** The delivery log cut by any of its dimensions, the newest `limit` events in time order. */
export async function queryEvents(db: Db, f: EventFilter): Promise<EventRow[]> {
  const q = eventsQuery(f);
  return (await db.query<EventRow>(q.text, q.values)).rows;
}

/** The statement behind queryEvents (test/integration/event-retention.test.ts checks its plans). */
export function eventsQuery(f: EventFilter): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    values.push(v);
    where.push(sql.replace('?', `$${values.length}`));
  };
  for (const [key, column] of Object.entries(COLUMNS)) {
    const v = f[key as keyof typeof COLUMNS];
    if (v !== undefined) add(`${column}${key === 'messageId' ? ' = ?::uuid' : ' = ?'}`, v);
  }
  if (f.tenant !== undefined) add('t.name = ?', f.tenant);
  if (f.sinceMs !== undefined) add('e.at >= to_timestamp(?::float8 / 1000)', f.sinceMs);
  if (f.untilMs !== undefined) add('e.at < to_timestamp(?::float8 / 1000)', f.untilMs);
  values.push(f.limit);
  return {
    text: `SELECT * FROM (
       SELECT e.id, e.at, e.message_id, t.name AS tenant, e.event, e.recipient, e.sending_domain, e.recipient_domain,
              e.message_type, e.provider, e.pool, e.ip, e.mx_host, e.attempt, e.reply_code, e.enhanced_status,
              e.reply_text, e.category, e.tls, e.duration_ms, e.detail
       FROM delivery_events e JOIN tenants t ON t.id = e.tenant_id
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY e.id DESC LIMIT $${values.length}) x
     ORDER BY id`,
    values,
  };
}

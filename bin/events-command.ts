import { parseArgs } from 'node:util';
import type { Db } from '../adapters/postgres/db.js';
import { type EventRow, queryEvents } from '../adapters/postgres/events-query.js';
import { eventFilterSchema, toEventFilter } from '../api/event-filter.js';

const FLAGS = [
  'tenant',
  'message',
  'sending-domain',
  'domain',
  'recipient',
  'provider',
  'ip',
  'pool',
  'type',
  'event',
  'category',
  'since',
  'until',
  'limit',
] as const;

/** One event as a line a person reads: time, event, who, route, and what the remote said. */
function line(e: EventRow): string {
  const reply = e.reply_code
    ? `${e.reply_code}${e.enhanced_status ? ` ${e.enhanced_status}` : ''} ${e.reply_text ?? ''}`.trim()
    : (e.detail ?? '');
  const route = [e.ip && `ip=${e.ip}`, e.provider && `provider=${e.provider}`, e.mx_host && `mx=${e.mx_host}`]
    .filter(Boolean)
    .join(' ');
  return [
    e.at.toISOString(),
    e.event.padEnd(16),
    (e.recipient ?? '-').padEnd(28),
    route,
    e.category ? `[${e.category}]` : '',
    reply,
  ]
    .filter(Boolean)
    .join('  ');
}

/**
 * `posthorn events [--tenant T] [--message ID] [--sending-domain D] [--domain D] [--recipient R]
 * [--provider P] [--ip IP] [--pool P] [--type T] [--event E] [--category C] [--since 2h|ISO] [--until ISO]
 * [--limit N] [--json]`: the delivery log cut by any dimension, oldest first.
 */
export async function eventsCommand(args: string[], db: Db): Promise<string> {
  const { values } = parseArgs({
    args,
    options: {
      ...Object.fromEntries(FLAGS.map((f) => [f, { type: 'string' as const }])),
      json: { type: 'boolean', default: false },
    },
  });
  const { json, ...flags } = values;
  const parsed = eventFilterSchema.safeParse(flags);
  if (!parsed.success)
    throw new Error(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  const rows = await queryEvents(db, toEventFilter(parsed.data, Date.now()));
  return rows.map((e) => (json ? JSON.stringify(e) : line(e))).join('\n');
}

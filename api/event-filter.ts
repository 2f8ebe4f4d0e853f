import { z } from 'zod';
import type { EventFilter } from '../adapters/postgres/events-query.js';
import { parseDuration } from '../core/duration.js';

/**
 * The delivery-log filter as operators write it, in the HTTP query string or as CLI flags:
 * tenant, message, sending-domain, domain (recipient), recipient, provider, ip, pool, type,
 * event, category, since and until (a duration back from now, e.g. 2h, or an ISO 8601
 * timestamp), limit.
 */
const MAX_SINCE_MS = 3650 * 86_400_000;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A bound of the time range: a duration back from now (`2h`) or an ISO 8601 timestamp with its offset. */
export type PointInTime = { ago: number } | { at: number };

const pointInTime = z.string().transform((s, ctx): PointInTime => {
  if (ISO_TIMESTAMP.test(s)) {
    const at = Date.parse(s);
    if (!Number.isNaN(at)) return { at };
  }
  const d = parseDuration(s);
  if (!d.ok) {
    ctx.addIssue({ code: 'custom', message: `${d.error}, or an ISO 8601 timestamp with its offset` });
    return z.NEVER;
  }
  // Further back than any event is kept; a larger number leaves the range of dates.
  if (d.ms > MAX_SINCE_MS) {
    ctx.addIssue({ code: 'custom', message: 'at most 3650d back' });
    return z.NEVER;
  }
  return { ago: d.ms };
});

const toMs = (p: PointInTime | undefined, nowMs: number) =>
  p === undefined ? undefined : 'at' in p ? p.at : nowMs - p.ago;

export const eventFilterSchema = z
  .object({
    tenant: z.string().optional(),
    message: z.string().uuid().optional(),
    'sending-domain': z.string().optional(),
    domain: z.string().optional(),
    recipient: z.string().optional(),
    provider: z.string().optional(),
    ip: z.string().optional(),
    pool: z.string().optional(),
    type: z.enum(['transactional', 'marketing']).optional(),
    event: z.string().optional(),
    category: z.string().optional(),
    since: pointInTime.optional(),
    until: pointInTime.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export type EventFilterInput = z.input<typeof eventFilterSchema>;

export function toEventFilter(f: z.output<typeof eventFilterSchema>, nowMs: number): EventFilter {
  return {
    tenant: f.tenant,
    messageId: f.message,
    sendingDomain: f['sending-domain'],
    recipientDomain: f.domain,
    recipient: f.recipient,
    provider: f.provider,
    ip: f.ip,
    pool: f.pool,
    messageType: f.type,
    event: f.event,
    category: f.category,
    sinceMs: toMs(f.since, nowMs),
    untilMs: toMs(f.until, nowMs),
    limit: f.limit,
  };
}

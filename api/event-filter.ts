import { z } from 'zod';
import type { EventFilter } from '../adapters/postgres/events-query.js';
import { parseDuration } from '../core/duration.js';

/**
 * The delivery-log filter as operators write it, in the HTTP query string or as CLI flags:
 * tenant, message, sending-domain, domain (recipient), recipient, provider, ip, pool, type,
 * event, category, since (a duration back from now, e.g. 2h), limit.
 */
const MAX_SINCE_MS = 3650 * 86_400_000;

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
    since: z
      .string()
      .transform((s, ctx) => {
        const d = parseDuration(s);
        if (!d.ok) {
          ctx.addIssue({ code: 'custom', message: d.error });
          return z.NEVER;
        }
        // Further back than any event is kept; a larger number leaves the range of dates.
        if (d.ms > MAX_SINCE_MS) {
          ctx.addIssue({ code: 'custom', message: 'since is at most 3650d' });
          return z.NEVER;
        }
        return d.ms;
      })
      .optional(),
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
    sinceMs: f.since === undefined ? undefined : nowMs - f.since,
    limit: f.limit,
  };
}

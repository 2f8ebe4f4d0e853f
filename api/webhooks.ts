import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { TenantStore } from '../adapters/postgres/tenants.js';
import type {
  Webhook,
  WebhookAttempt,
  WebhookEventRow,
  WebhookStore,
} from '../adapters/postgres/webhooks.js';
import { checkEndpoint } from '../core/webhooks/endpoint.js';
import { isWebhookEventType, WEBHOOK_EVENT_TYPES, webhookPayload } from '../core/webhooks/events.js';
import { authenticate } from './auth.js';
import { ApiError, notFound } from './errors.js';

export interface WebhookRoutesDeps {
  readonly tenants: Pick<TenantStore, 'principalByTokenHash'>;
  readonly webhooks: WebhookStore;
  /** Tells the endpoint's actor to look at its outbox (re-enabled, replayed). */
  readonly wakeWebhook: (id: string) => void;
  readonly newSigningSecret: () => string;
  /** Plain http to loopback endpoints (tests only; POSTHORN_ALLOW_LOOPBACK). */
  readonly allowLoopbackWebhooks: boolean;
}

/** How long the old secret keeps signing after a rotation (ms): 24 h. */
const ROTATION_GRACE_MS = 24 * 3_600_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const eventsSchema = z.array(z.string()).min(1).max(WEBHOOK_EVENT_TYPES.length);
const createSchema = z.object({ endpoint: z.unknown(), events: z.unknown() });
const patchSchema = z.object({
  endpoint: z.unknown().optional(),
  events: z.unknown().optional(),
  status: z.enum(['enabled', 'disabled']).optional(),
});
const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().optional(),
  before: z.string().optional(),
});

function checkEvents(raw: unknown): string[] {
  const parsed = eventsSchema.safeParse(raw);
  if (!parsed.success)
    throw new ApiError(422, 'validation_error', 'The `events` must be a non-empty array of event types.');
  const unknown = parsed.data.filter((e) => !isWebhookEventType(e));
  if (unknown.length > 0)
    throw new ApiError(
      422,
      'validation_error',
      `Unknown event type ${JSON.stringify(unknown[0])}; known: ${WEBHOOK_EVENT_TYPES.join(', ')}.`,
    );
  return [...new Set(parsed.data)];
}

function webhookObject(w: Webhook) {
  return {
    object: 'webhook',
    id: w.id,
    created_at: w.createdAt.toISOString(),
    status: w.status,
    endpoint: w.endpoint,
    events: w.events,
    signing_secret: w.signingSecret,
    // Posthorn: why it is disabled (`manual`, or `failing` when every attempt failed for 5 days).
    disabled_reason: w.disabledReason,
    disabled_at: w.disabledAt?.toISOString() ?? null,
  };
}

function eventObject(e: WebhookEventRow) {
  return {
    object: 'webhook_event',
    id: e.id,
    type: e.type,
    created_at: e.createdAt.toISOString(),
    status: e.status,
    attempts: e.attempts,
    next_attempt_at: e.nextAttemptAt?.toISOString() ?? null,
  };
}

function attemptObject(a: WebhookAttempt) {
  return {
    object: 'webhook_attempt',
    id: a.id,
    http_status_code: a.httpStatusCode,
    response: a.response,
    sent_at: a.sentAt.toISOString(),
    outcome: a.outcome,
    duration_ms: a.durationMs,
  };
}

function parseList(query: unknown) {
  const q = listSchema.safeParse(query);
  if (!q.success) throw new ApiError(422, 'validation_error', q.error.issues[0]?.message ?? 'Invalid query.');
  const { limit, after, before } = q.data;
  if (after && before)
    throw new ApiError(422, 'validation_error', 'Use either `after` or `before`, not both.');
  const cursor = after ?? before;
  if (cursor !== undefined && !UUID.test(cursor))
    throw new ApiError(422, 'invalid_parameter', 'The cursor must be an id from the list.');
  return { limit, after, before };
}

function page<T>(rows: readonly T[], limit: number, before: string | undefined) {
  return {
    object: 'list',
    has_more: rows.length > limit,
    // `before` pages come back newest first, the extra row (if any) at the newest end.
    rows: before ? rows.slice(Math.max(0, rows.length - limit)) : rows.slice(0, limit),
  };
}

/** Webhooks in the shape of Resend's /webhooks endpoints; every route sees the key's tenant only. */
export function registerWebhookRoutes(app: FastifyInstance, deps: WebhookRoutesDeps): void {
  const endpointOf = (raw: unknown) => {
    const c = checkEndpoint(raw, deps.allowLoopbackWebhooks);
    if (!c.ok) throw new ApiError(422, 'validation_error', c.message);
    return c.url;
  };
  const idParam = (params: unknown, name: 'id' | 'eventId', what: string) => {
    const v = (params as Record<string, string>)[name] ?? '';
    if (!UUID.test(v)) throw notFound(what);
    return v;
  };

  app.post('/webhooks', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const body = createSchema.safeParse(req.body ?? {});
    if (!body.success || body.data.endpoint === undefined)
      throw new ApiError(422, 'missing_required_field', 'Missing `endpoint` field.');
    if (body.data.events === undefined)
      throw new ApiError(422, 'missing_required_field', 'Missing `events` field.');
    const endpoint = endpointOf(body.data.endpoint);
    const events = checkEvents(body.data.events);
    const w = await deps.webhooks.create({
      id: randomUUID(),
      tenantId: principal.tenantId,
      endpoint,
      events,
      signingSecret: deps.newSigningSecret(),
    });
    return { object: 'webhook', id: w.id, signing_secret: w.signingSecret };
  });

  app.get('/webhooks', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const { limit, after, before } = parseList(req.query);
    const rows = await deps.webhooks.list(principal.tenantId, limit, { after, before });
    const p = page(rows, limit, before);
    return {
      object: 'list',
      has_more: p.has_more,
      data: p.rows.map((w) => {
        const { signing_secret: _secret, ...rest } = webhookObject(w);
        return rest;
      }),
    };
  });

  app.get('/webhooks/:id', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const w = await deps.webhooks.get(principal.tenantId, idParam(req.params, 'id', 'Webhook'));
    if (!w) throw notFound('Webhook');
    return webhookObject(w);
  });

  app.patch('/webhooks/:id', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const id = idParam(req.params, 'id', 'Webhook');
    const body = patchSchema.safeParse(req.body ?? {});
    if (!body.success)
      throw new ApiError(422, 'validation_error', 'The `status` must be `enabled` or `disabled`.');
    const patch = {
      ...(body.data.endpoint !== undefined ? { endpoint: endpointOf(body.data.endpoint) } : {}),
      ...(body.data.events !== undefined ? { events: checkEvents(body.data.events) } : {}),
      ...(body.data.status !== undefined ? { status: body.data.status } : {}),
    };
    const w = await deps.webhooks.update(principal.tenantId, id, patch);
    if (!w) throw notFound('Webhook');
    // Re-enabled: the actor sends what waited; a new endpoint gets the queued events too.
    if (w.status === 'enabled') deps.wakeWebhook(w.id);
    return { object: 'webhook', id: w.id };
  });

  app.delete('/webhooks/:id', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const id = idParam(req.params, 'id', 'Webhook');
    if (!(await deps.webhooks.remove(principal.tenantId, id))) throw notFound('Webhook');
    // Its actor finds the webhook gone and ends.
    deps.wakeWebhook(id);
    return { object: 'webhook', id, deleted: true };
  });

  app.post('/webhooks/:id/signing-secret/rotate', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const id = idParam(req.params, 'id', 'Webhook');
    const w = await deps.webhooks.rotate(principal.tenantId, id, deps.newSigningSecret(), ROTATION_GRACE_MS);
    if (!w) throw notFound('Webhook');
    return { object: 'webhook', id: w.id, signing_secret: w.signingSecret };
  });

  app.get('/webhooks/:id/events', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const id = idParam(req.params, 'id', 'Webhook');
    if (!(await deps.webhooks.get(principal.tenantId, id))) throw notFound('Webhook');
    const { limit, after, before } = parseList(req.query);
    const rows = await deps.webhooks.events(principal.tenantId, id, limit, { after, before });
    const p = page(rows, limit, before);
    return { object: 'list', has_more: p.has_more, data: p.rows.map(eventObject) };
  });

  app.get('/webhooks/:id/events/:eventId', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const id = idParam(req.params, 'id', 'Webhook');
    const e = await deps.webhooks.event(
      principal.tenantId,
      id,
      idParam(req.params, 'eventId', 'Webhook event'),
    );
    if (!e) throw notFound('Webhook event');
    return { ...eventObject(e), payload: webhookPayload(e.type, e.source, e.message) };
  });

  app.get('/webhooks/:id/events/:eventId/attempts', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const id = idParam(req.params, 'id', 'Webhook');
    const attempts = await deps.webhooks.attempts(
      principal.tenantId,
      id,
      idParam(req.params, 'eventId', 'Webhook event'),
    );
    if (!attempts) throw notFound('Webhook event');
    return { object: 'list', has_more: false, data: attempts.map(attemptObject) };
  });

  app.post('/webhooks/:id/events/:eventId/replay', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const id = idParam(req.params, 'id', 'Webhook');
    const eventId = idParam(req.params, 'eventId', 'Webhook event');
    if (!(await deps.webhooks.replay(principal.tenantId, id, eventId))) throw notFound('Webhook event');
    deps.wakeWebhook(id);
    return { object: 'webhook_event', id: eventId };
  });
}

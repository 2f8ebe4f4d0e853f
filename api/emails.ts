import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IdempotencyStore } from '../adapters/postgres/idempotency.js';
import type { MessageStore, StoredEmail } from '../adapters/postgres/messages.js';
import type { TenantStore } from '../adapters/postgres/tenants.js';
import type { Accept } from './accept.js';
import { authenticate } from './auth.js';
import { ApiError, notFound, zodMessage } from './errors.js';
import { withIdempotency } from './idempotency.js';
import type { TenantRateLimit } from './rate-limit.js';
import type { Resolved } from './remote-attachments.js';
import { listQuerySchema, sendEmailSchema } from './schemas.js';
import { type CheckedEmail, validateSend } from './validate.js';

export interface EmailRoutesDeps {
  readonly tenants: Pick<TenantStore, 'principalByTokenHash' | 'domainByName'>;
  readonly messages: Pick<MessageStore, 'get' | 'list' | 'exists'>;
  readonly idempotency: IdempotencyStore;
  readonly accept: Accept;
  readonly now: () => number;
  readonly rateLimit: TenantRateLimit;
  /** Fetches the attachment URLs of a request's emails (api/remote-attachments.ts). */
  readonly resolveAttachments: (emails: readonly CheckedEmail[]) => Promise<Resolved[]>;
}

// Resend: at most 100 emails per batch (openapi /emails/batch).
const MAX_BATCH = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkedOf(body: unknown, now: number, prefix = ''): CheckedEmail {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(422, 'validation_error', `${prefix}The request body must be a JSON object.`);
  }
  const parsed = sendEmailSchema.safeParse(body);
  if (!parsed.success) throw new ApiError(422, 'validation_error', prefix + zodMessage(parsed.error.issues));
  return validateSend(parsed.data, { nowMs: now });
}

function emailObject(e: StoredEmail) {
  return {
    object: 'email',
    id: e.id,
    to: e.to,
    from: e.from,
    created_at: e.created_at.toISOString(),
    subject: e.subject,
    html: e.html,
    text: e.text,
    bcc: e.bcc,
    cc: e.cc,
    reply_to: e.reply_to,
    last_event: e.last_event ?? 'queued',
    scheduled_at: e.scheduled_at?.toISOString() ?? null,
    message_id: e.message_id,
    tags: e.tags ?? [],
  };
}

function listItem(e: StoredEmail) {
  const {
    html: _html,
    text: _text,
    message_id: _mid,
    tags: _tags,
    object: _object,
    ...rest
  } = emailObject(e);
  return rest;
}

export function registerEmailRoutes(app: FastifyInstance, deps: EmailRoutesDeps): void {
  app.post('/emails', async (req: FastifyRequest, reply) => {
    const principal = await authenticate(req, deps.tenants, 'send');
    await deps.rateLimit(principal.tenantId, reply);
    const result = await withIdempotency(
      req,
      deps.idempotency,
      principal.tenantId,
      'POST /emails',
      async () => {
        const checked = checkedOf(req.body, deps.now());
        const domain = await deps.accept.check(principal, checked);
        // Attachment URLs are fetched once, here, before the commit: a fetch that fails
        // refuses the request.
        const [resolved] = await deps.resolveAttachments([checked]);
        if (!resolved!.ok) throw resolved!.error;
        const [id] = await deps.accept.acceptAll(principal, [{ draft: resolved!.draft, domain }]);
        return { statusCode: 200, body: { id } };
      },
    );
    return reply.code(result.statusCode).send(result.body);
  });

  app.post('/emails/batch', async (req, reply) => {
    const principal = await authenticate(req, deps.tenants, 'send');
    await deps.rateLimit(principal.tenantId, reply);
    const mode = String(req.headers['x-batch-validation'] ?? 'strict').toLowerCase();
    if (mode !== 'strict' && mode !== 'permissive') {
      throw new ApiError(
        422,
        'validation_error',
        'The `x-batch-validation` header must be `strict` or `permissive`.',
      );
    }
    const result = await withIdempotency(
      req,
      deps.idempotency,
      principal.tenantId,
      'POST /emails/batch',
      async () => {
        const body = req.body;
        if (!Array.isArray(body))
          throw new ApiError(422, 'validation_error', 'The request body must be an array of emails.');
        if (body.length === 0)
          throw new ApiError(422, 'validation_error', 'The batch must contain at least one email.');
        if (body.length > MAX_BATCH)
          throw new ApiError(422, 'validation_error', `A batch may contain at most ${MAX_BATCH} emails.`);
        const now = deps.now();
        // Check everything before storing anything, so a strict batch is all or nothing.
        const checked = await Promise.all(
          body.map(async (item, index) => {
            try {
              const email = checkedOf(item, now, `Email ${index}: `);
              return { ok: true as const, index, email, domain: await deps.accept.check(principal, email) };
            } catch (err) {
              if (err instanceof ApiError) return { ok: false as const, index, error: err };
              throw err;
            }
          }),
        );
        const failures: { index: number; error: ApiError }[] = checked.filter((c) => !c.ok);
        if (mode === 'strict' && failures[0]) throw failures[0].error;
        // Attachments in batch sends are ours, not Resend's (it refuses them there): their
        // URLs are fetched like a single send's, once each per request.
        const valid = checked.filter((c) => c.ok);
        const resolved = await deps.resolveAttachments(valid.map((c) => c.email));
        const drafts = valid.flatMap((c, i) => {
          const r = resolved[i]!;
          if (r.ok) return [{ draft: r.draft, domain: c.domain }];
          const { statusCode, errorName, message } = r.error;
          failures.push({
            index: c.index,
            error: new ApiError(statusCode, errorName, `Email ${c.index}: ${message}`),
          });
          return [];
        });
        if (mode === 'strict' && failures[0]) throw failures[0].error;
        failures.sort((a, b) => a.index - b.index);
        const errors = failures.map((c) => ({ index: c.index, message: c.error.message }));
        // The valid emails are stored in one transaction: all of them or, on error, none.
        const ids = await deps.accept.acceptAll(principal, drafts);
        const data = ids.map((id) => ({ id }));
        return { statusCode: 200, body: mode === 'permissive' ? { data, errors } : { data } };
      },
    );
    return reply.code(result.statusCode).send(result.body);
  });

  app.get('/emails/:id', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const { id } = req.params as { id: string };
    if (!UUID.test(id)) throw notFound('Email');
    const email = await deps.messages.get(principal.tenantId, id);
    if (!email) throw notFound('Email');
    return emailObject(email);
  });

  app.get('/emails', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const q = listQuerySchema.safeParse(req.query);
    if (!q.success) throw new ApiError(422, 'validation_error', zodMessage(q.error.issues));
    const { limit, after, before } = q.data;
    if (after && before)
      throw new ApiError(422, 'validation_error', 'Use either `after` or `before`, not both.');
    const cursor = after ?? before;
    if (
      cursor !== undefined &&
      (!UUID.test(cursor) || !(await deps.messages.exists(principal.tenantId, cursor)))
    ) {
      throw new ApiError(422, 'invalid_parameter', 'The cursor must be the id of one of your emails.');
    }
    const rows = await deps.messages.list(principal.tenantId, limit, { after, before });
    // `before` pages come back newest first, the extra row (if any) at the newest end.
    const page = before ? rows.slice(Math.max(0, rows.length - limit)) : rows.slice(0, limit);
    return { object: 'list', has_more: rows.length > limit, data: page.map(listItem) };
  });
}

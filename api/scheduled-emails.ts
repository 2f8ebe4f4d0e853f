import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { MessageStore } from '../adapters/postgres/messages.js';
import type { TenantStore } from '../adapters/postgres/tenants.js';
import type { ScheduleChange, ScheduleControl } from '../adapters/schedule-control.js';
import { authenticate } from './auth.js';
import { ApiError, notFound } from './errors.js';
import { scheduleDelay } from './schedule-time.js';

export interface ScheduleRoutesDeps {
  readonly tenants: Pick<TenantStore, 'principalByTokenHash'>;
  readonly messages: Pick<MessageStore, 'scheduleOf'>;
  readonly schedules: ScheduleControl;
  readonly now: () => number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const updateSchema = z.object({ scheduled_at: z.string().nullish() });

/**
 * PATCH /emails/{id} ({scheduled_at}) and POST /emails/{id}/cancel, Resend's update and
 * cancel of a scheduled email (resend-openapi.yaml: emails/update, emails/cancel). Both
 * answer `{object: "email", id}` once the message's workflow has done it; another tenant's
 * message is not found; a message not scheduled, or already sent or canceled, is 422.
 */
export function registerScheduleRoutes(app: FastifyInstance, deps: ScheduleRoutesDeps): void {
  async function change(
    tenantId: string,
    id: string,
    verb: 'updated' | 'canceled',
    apply: () => Promise<ScheduleChange>,
  ): Promise<{ object: 'email'; id: string }> {
    if (!UUID.test(id)) throw notFound('Email');
    const m = await deps.messages.scheduleOf(tenantId, id);
    if (!m) throw notFound('Email');
    const refused = new ApiError(
      422,
      'validation_error',
      m.scheduled
        ? `This email has already been sent or canceled, so it cannot be ${verb}.`
        : `This email was not scheduled, so it cannot be ${verb}.`,
    );
    if (!m.scheduled) throw refused;
    const outcome = await apply();
    switch (outcome) {
      case 'done':
        return { object: 'email', id };
      case 'refused':
        throw refused;
      case 'no_workflow':
        // Committed but its workflow not started yet (the start sweeper will): come back.
        if (!m.workflowStarted) {
          throw new ApiError(503, 'application_error', 'Temporarily unavailable, please retry shortly.');
        }
        throw refused;
    }
  }

  app.patch('/emails/:id', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const { id } = req.params as { id: string };
    const body = updateSchema.safeParse(req.body ?? {});
    if (!body.success) throw new ApiError(422, 'validation_error', 'Invalid `scheduled_at` field.');
    const value = body.data.scheduled_at;
    if (!value) throw new ApiError(422, 'missing_required_field', 'Missing `scheduled_at` field.');
    const now = deps.now();
    const delay = scheduleDelay(value, now);
    if (!delay.ok)
      throw new ApiError(422, 'validation_error', `Invalid \`scheduled_at\` field: ${delay.message}`);
    return change(principal.tenantId, id, 'updated', () =>
      deps.schedules.reschedule(id, now + delay.delayMs),
    );
  });

  app.post('/emails/:id/cancel', async (req) => {
    const principal = await authenticate(req, deps.tenants, 'full');
    const { id } = req.params as { id: string };
    return change(principal.tenantId, id, 'canceled', () => deps.schedules.cancel(id));
  });
}

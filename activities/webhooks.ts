import { Context } from '@temporalio/activity';
import type { GuardedHttp } from '../adapters/guarded-http.js';
import type {
  AttemptOutcome,
  AttemptResult,
  WebhookEventWithSource,
  WebhookStore,
} from '../adapters/postgres/webhooks.js';
import { webhookHeaders } from '../adapters/webhook-signing.js';
import { webhookPayload } from '../core/webhooks/events.js';
import { parseRetryAfter, shouldDisable, webhookRetryDelay } from '../core/webhooks/retry.js';
import { signingSecrets } from '../core/webhooks/secrets.js';
import type { WebhookActivities, WebhookDrainResult } from '../workflows/contract.js';

/** Resend's (Svix's) timeout for one webhook request, ms. */
export const WEBHOOK_TIMEOUT_MS = 15_000;
/** The response body kept for the attempts log, bytes. */
const RESPONSE_KEPT_BYTES = 1024;

export interface WebhookDeliveryDeps {
  readonly store: Pick<WebhookStore, 'byId' | 'claim' | 'record' | 'disableFailing' | 'nextDue'>;
  readonly http: Pick<GuardedHttp, 'request'>;
  /** Requests in flight at once per endpoint. */
  readonly concurrency: number;
  /** Multiplies the retry schedule (1, except in tests). */
  readonly retryScale: number;
  /** An endpoint failing every attempt for this long is disabled, ms (Svix: 5 days). */
  readonly disableAfterMs: number;
  readonly now: () => number;
  /** Liveness for the activity's heartbeat; a no-op outside an activity. */
  readonly heartbeat?: () => void;
}

/**
 * Events claimed per drain, in rounds of the endpoint's concurrency (200 at the default 8).
 * Each drain costs a Temporal activity round trip (about a second on a busy 2-core
 * machine), so small batches capped throughput: with 32 per drain the bench's endpoint got
 * 24 requests/s and fell 11 s behind the deliveries.
 */
const ROUNDS_PER_DRAIN = 25;

/** One webhook endpoint's drain (workflows/webhook.ts calls it through Temporal). */
export function createWebhookDelivery(deps: WebhookDeliveryDeps): WebhookActivities {
  const beat = deps.heartbeat ?? (() => {});

  async function attempt(
    endpoint: string,
    secrets: readonly string[],
    e: WebhookEventWithSource,
  ): Promise<AttemptResult> {
    const body = JSON.stringify(webhookPayload(e.type, e.source, e.message));
    const sentAtMs = deps.now();
    const headers = {
      ...webhookHeaders(secrets, e.id, Math.floor(sentAtMs / 1000), body),
      'user-agent': 'Posthorn-Webhooks/1',
    };
    const res = await deps.http.request(endpoint, {
      method: 'POST',
      headers,
      body,
      timeoutMs: WEBHOOK_TIMEOUT_MS,
    });
    const durationMs = deps.now() - sentAtMs;
    let outcome: AttemptOutcome;
    let status: number | null = null;
    let response: string | null;
    let retryAfterMs: number | null = null;
    if (!res.ok) {
      outcome = res.reason === 'egress_refused' ? 'refused' : 'network';
      response = res.detail;
    } else {
      status = res.status;
      // 2xx is success; anything else, 3xx included (redirects are not followed), fails.
      outcome = status >= 200 && status < 300 ? 'success' : 'http_error';
      const read = await res.readBody(RESPONSE_KEPT_BYTES, { truncate: true });
      response = read.ok ? read.body.toString('utf8') : read.detail;
      const ra = res.headers['retry-after'];
      retryAfterMs = parseRetryAfter(Array.isArray(ra) ? ra[0] : ra, deps.now());
    }
    const delay =
      outcome === 'success' ? null : webhookRetryDelay(e.attempts + 1, deps.retryScale, retryAfterMs);
    return {
      eventId: e.id,
      sentAtMs,
      outcome,
      httpStatusCode: status,
      // PostgreSQL text holds no NUL.
      response: response.replace(/\0/g, ''),
      durationMs,
      nextAttemptAtMs: delay === null ? null : deps.now() + delay,
    };
  }

  return {
    async drainWebhook({ webhookId }): Promise<WebhookDrainResult> {
      const webhook = await deps.store.byId(webhookId);
      if (!webhook) return { kind: 'gone' };
      if (webhook.status === 'disabled')
        return { kind: 'disabled', reason: webhook.disabledReason ?? 'manual' };
      const limit = deps.concurrency * ROUNDS_PER_DRAIN;
      // A lease covering every round at the full timeout, with room to record.
      const leaseMs = (ROUNDS_PER_DRAIN + 1) * WEBHOOK_TIMEOUT_MS + 30_000;
      const reclaim = (activityAttempt() ?? 1) > 1;
      const claimed = await deps.store.claim(webhookId, limit, leaseMs, reclaim);
      const secrets = signingSecrets(webhook, deps.now());
      // Attempts are recorded a round (the endpoint's concurrency) at a time, one statement
      // each, so the log shows them as they happen and a drain that dies repeats few.
      let unrecorded: AttemptResult[] = [];
      let recording: Promise<Date | null> = Promise.resolve(null);
      const record = () => {
        const batch = unrecorded;
        unrecorded = [];
        recording = recording.then(() => deps.store.record(webhookId, batch));
        return recording;
      };
      let next = 0;
      let attempted = 0;
      let succeeded = 0;
      const worker = async () => {
        for (let i = next++; i < claimed.length; i = next++) {
          const result = await attempt(webhook.endpoint, secrets, claimed[i]!);
          attempted++;
          if (result.outcome === 'success') succeeded++;
          unrecorded.push(result);
          if (unrecorded.length >= deps.concurrency) await record();
          beat();
        }
      };
      await Promise.all(Array.from({ length: Math.min(deps.concurrency, claimed.length) }, worker));
      if (unrecorded.length > 0) await record();
      if (attempted > 0) {
        const failingSince = await recording;
        if (shouldDisable(failingSince?.getTime() ?? null, deps.now(), deps.disableAfterMs)) {
          if (await deps.store.disableFailing(webhookId))
            activityLog('webhook endpoint disabled: every attempt failed', {
              event: 'webhook.disabled',
              webhookId,
              endpoint: webhook.endpoint,
              failingSince: failingSince?.toISOString(),
            });
          return { kind: 'disabled', reason: 'failing' };
        }
      }
      const nextDueAtMs = await deps.store.nextDue(webhookId);
      const finishedAtMs = deps.now();
      return {
        kind: 'drained',
        attempted,
        succeeded,
        more: claimed.length === limit,
        nextDueAtMs,
        finishedAtMs,
      };
    },
  };
}

/** The attempt number of the running activity, or null outside one (unit tests). */
function activityAttempt(): number | null {
  try {
    return Context.current().info.attempt;
  } catch {
    return null;
  }
}

/** A warning in the activity's log (the node's logger, with the workflow's ids); a no-op outside one. */
function activityLog(message: string, attrs: Record<string, unknown>): void {
  try {
    Context.current().log.warn(message, attrs);
  } catch {
    // Not in an activity.
  }
}

/** Heartbeat of the running activity; a no-op outside one. */
export function activityHeartbeat(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // Not in an activity.
  }
}

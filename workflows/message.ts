import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  patched,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { groupByDomain } from '../core/address.js';
import { afterDeferral, DEFAULT_RETRY_SCHEDULE } from '../core/delivery/retry-schedule.js';
import { bookkeeping, deliveryActivities } from './activity-options.js';
import { workflowNow } from './clock.js';
import {
  cancelUpdate,
  type DeliverResult,
  egressTaskQueue,
  type MessageStatus,
  type MessageWorkflowInput,
  type MessageWorkflowResult,
  NOT_SCHEDULED,
  PROVIDER,
  releaseSignal,
  rescheduleUpdate,
  SENDING_IP,
  SHARED_EGRESS_TASK_QUEUE,
  statusQuery,
} from './contract.js';

/**
 * Marks workflows that give up on waiting (held, throttled, unrouted) at the message's
 * maximum age; workflows started before it keep waiting as they did (replay-safe).
 */
const EXPIRE_WHILE_WAITING = 'expire-while-waiting';

/**
 * Marks workflows that wait for their scheduled_at themselves (so that it can be moved or
 * canceled) rather than being started with a start delay, as scheduled sends were before.
 */
const SCHEDULED_SEND = 'scheduled-send';

/** The delivery's node never took the task (schedule-to-start timeout): it is down or gone. */
function notPickedUp(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === 'SCHEDULE_TO_START'
  );
}

/**
 * One accepted message, as a durable actor: per recipient domain, deliver; sleep and retry
 * what was deferred; stop at delivered, bounced, or the retry schedule's max age.
 */
export async function messageWorkflow(input: MessageWorkflowInput): Promise<MessageWorkflowResult> {
  const status: MessageStatus = {
    recipients: Object.fromEntries(
      input.recipients.map((r) => [r, { status: 'queued', attempts: 0, ip: null }]),
    ),
  };
  setHandler(statusQuery, () => status);
  let releases = 0;
  setHandler(releaseSignal, () => {
    releases++;
  });

  // A scheduled send waits until its time; meanwhile the time can move and the send can be
  // canceled. Updates rather than signals, so the caller learns whether it still could:
  // once the message leaves its wait (or if it never had one) the validators refuse.
  let phase: 'waiting' | 'sending' | 'canceled' = input.scheduledAtMs === undefined ? 'sending' : 'waiting';
  let sendAt = input.scheduledAtMs ?? 0;
  const canceled = () => phase === 'canceled';
  const onlyWhileWaiting = () => {
    if (phase !== 'waiting') throw new Error(NOT_SCHEDULED);
  };
  setHandler(
    rescheduleUpdate,
    async ({ scheduledAtMs }) => {
      sendAt = scheduledAtMs;
      await bookkeeping.reschedule({ messageId: input.messageId, scheduledAtMs });
      return { scheduledAtMs };
    },
    {
      validator: ({ scheduledAtMs }) => {
        if (!Number.isFinite(scheduledAtMs)) throw new Error('scheduledAtMs must be a number');
        onlyWhileWaiting();
      },
    },
  );
  setHandler(
    cancelUpdate,
    async () => {
      phase = 'canceled';
      await bookkeeping.cancelScheduled({ messageId: input.messageId, recipients: input.recipients });
      return { canceled: true as const };
    },
    { validator: onlyWhileWaiting },
  );
  // The retry schedule's max age counts from the send time, wherever it was moved.
  let acceptedAtMs = input.acceptedAtMs;
  // Provider and sending IP are known after the first routed attempt; they are added to the
  // search attributes once each, so the Web UI can filter messages by them.
  const tagged = { provider: false, ip: false };
  function tagRoute(provider: string | null, ip: string | null): void {
    const update: SearchAttributeUpdatePair[] = [];
    if (provider && !tagged.provider) {
      update.push({ key: PROVIDER, value: provider });
      tagged.provider = true;
    }
    if (ip && !tagged.ip) {
      update.push({ key: SENDING_IP, value: ip });
      tagged.ip = true;
    }
    if (update.length > 0) upsertSearchAttributes(update);
  }

  if (input.scheduledAtMs !== undefined && patched(SCHEDULED_SEND)) {
    for (;;) {
      const target = sendAt;
      const wait = target - workflowNow();
      if (canceled() || wait <= 0) break;
      await condition(() => canceled() || sendAt !== target, wait);
    }
    if (canceled()) {
      await condition(allHandlersFinished);
      for (const r of input.recipients) status.recipients[r]!.status = 'canceled';
      return status;
    }
    phase = 'sending';
    acceptedAtMs = workflowNow();
    await bookkeeping.releaseScheduled({ messageId: input.messageId, recipients: input.recipients });
  }

  const groups = groupByDomain(input.recipients);

  async function deliverGroup(domain: string, recipients: string[]): Promise<void> {
    let pending = recipients;
    // A message coming from a delivery wave goes on from the wave's attempt and IP.
    let ip: string | null = input.resume?.[domain]?.ip ?? null;
    // Deliveries run on the node that owns the source IP; the accepting node first.
    let queue = input.egressTaskQueue;
    let attempts = input.resume?.[domain]?.attempts ?? 0;
    const pickupMs = input.retry.pickupMs ?? DEFAULT_RETRY_SCHEDULE.pickupMs!;
    /** Gives up on what is still pending: `failed` (expired) events, and so in the status. */
    async function expirePending(attemptsMade: number): Promise<void> {
      await bookkeeping.expire({ messageId: input.messageId, recipients: pending, attempts: attemptsMade });
      for (const r of pending) status.recipients[r]!.status = 'failed';
    }
    for (;;) {
      const attempt = attempts + 1;
      // Waiting (a pause never lifted, no IP that may send) is no attempt, but it must not
      // outlive the message: at its maximum age it ends like a retry schedule that ran out.
      if (workflowNow() - acceptedAtMs >= input.retry.maxAgeMs && patched(EXPIRE_WHILE_WAITING)) {
        return expirePending(attempts);
      }
      let result: DeliverResult;
      try {
        result = await deliveryActivities(
          queue,
          queue === SHARED_EGRESS_TASK_QUEUE ? null : pickupMs,
        ).deliver({
          messageId: input.messageId,
          domain,
          recipients: pending,
          attempt,
          preferredIp: ip,
        });
      } catch (err) {
        if (!notPickedUp(err)) throw err;
        // Not an attempt: any live node takes it and routes it afresh (its IP was the
        // silent node's, so no IP is asked for).
        queue = SHARED_EGRESS_TASK_QUEUE;
        ip = null;
        continue;
      }
      if (result.wait) {
        // Not an attempt: nothing reached the remote.
        switch (result.wait.kind) {
          case 'held': {
            // A pause, or no IP of the pool free: wait for a release signal, or the
            // soonest change the router could see, whichever comes first.
            const seen = releases;
            await condition(() => releases > seen, result.wait.retryAfterMs);
            break;
          }
          case 'throttled':
            await sleep(result.wait.retryAfterMs);
            break;
          case 'elsewhere':
            // The chosen IP lives on another node: go there, and ask for that IP.
            queue = egressTaskQueue(result.wait.node);
            ip = result.wait.ip;
            break;
        }
        continue;
      }
      tagRoute(result.provider, result.ip);
      attempts = attempt;
      ip = result.ip ?? ip;
      for (const r of result.recipients) {
        const s = status.recipients[r.address]!;
        s.status = r.verdict;
        s.attempts = attempt;
        s.ip = result.ip;
      }
      const deferred = result.recipients.filter((r) => r.verdict === 'deferred');
      if (deferred.length === 0) return;
      pending = deferred.map((r) => r.address);
      const decision = afterDeferral(input.retry, attempt, result.finishedAtMs - acceptedAtMs, deferred);
      switch (decision.kind) {
        case 'retry':
          await sleep(decision.delayMs);
          break;
        case 'expire':
          return expirePending(attempt);
      }
    }
  }

  await Promise.all([...groups].map(([domain, rcpts]) => deliverGroup(domain, rcpts)));
  // An update accepted just before the release may still be recording its change.
  await condition(allHandlersFinished);
  return status;
}

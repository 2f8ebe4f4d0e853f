import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type {
  ControlActivities,
  DomainActivities,
  MessageActivities,
  WaveActivities,
  WebhookActivities,
} from './contract.js';

/**
 * The only proxyActivities calls. Activity exceptions mean infrastructure trouble (the
 * database away, a bug), never a mail outcome, so Temporal retries them with backoff
 * until they pass; mail outcomes come back as values. What can never pass (the message's
 * row is gone) is a non-retryable ApplicationFailure that fails the workflow.
 */
const INFRA_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' } as const;

/**
 * `pickupMs`: how long the task may wait for a worker of its queue (schedule-to-start). A
 * node's queue has one poller, the node: past this, the workflow takes the delivery to the
 * shared queue. Null on the shared queue, where waiting for any node is all there is to do.
 */
export function deliveryActivities(
  egressTaskQueue: string,
  pickupMs: number | null,
): Pick<MessageActivities, 'deliver'> {
  return proxyActivities<MessageActivities>({
    taskQueue: egressTaskQueue,
    ...(pickupMs === null ? {} : { scheduleToStartTimeout: pickupMs }),
    // An SMTP session with the RFC 5321 §4.5.3.2 timeouts can take many minutes against a
    // slow server; liveness is watched by the heartbeat instead (a dead worker is noticed
    // within 15 s; the retry waits on the same queue until pickupMs, then goes elsewhere).
    startToCloseTimeout: '30m',
    heartbeatTimeout: '15s',
    retry: INFRA_RETRY,
  });
}

export const bookkeeping = proxyActivities<
  Pick<MessageActivities, 'expire' | 'reschedule' | 'cancelScheduled' | 'releaseScheduled'>
>({
  startToCloseTimeout: '1m',
  retry: INFRA_RETRY,
});

export const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '1m',
  retry: INFRA_RETRY,
});

/** DNS lookups of a domain's records: each within the resolver's own timeouts. */
export const domainActivities = proxyActivities<DomainActivities>({
  startToCloseTimeout: '1m',
  retry: INFRA_RETRY,
});

/**
 * The wave's delivery runs as a local activity in the worker that took the wave's first
 * workflow task (eager start: the accepting node), so a wave costs no activity task
 * round trips through the server: start, one workflow task, completion. A long wave
 * (slow MXs) keeps its workflow task alive with heartbeats the SDK sends by itself.
 */
export const waveActivities = proxyLocalActivities<WaveActivities>({
  // Every message's SMTP transaction within its own timeouts, plus promotion starts.
  startToCloseTimeout: '30m',
  retry: INFRA_RETRY,
});

/**
 * A webhook drain POSTs one batch (each request at most 15 s, a few at once) and
 * heartbeats between requests, so a dead worker is noticed within 30 s and the retried
 * drain takes over the events its predecessor claimed.
 */
export const webhookActivities = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '30s',
  retry: INFRA_RETRY,
});

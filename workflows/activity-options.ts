import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { ControlActivities, MessageActivities, WaveActivities } from './contract.js';

/**
 * The only proxyActivities calls. Activity exceptions mean infrastructure trouble (the
 * database away, a bug), never a mail outcome, so Temporal retries them with backoff
 * until they pass; mail outcomes come back as values.
 */
const INFRA_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' } as const;

export function deliveryActivities(egressTaskQueue: string): Pick<MessageActivities, 'deliver'> {
  return proxyActivities<MessageActivities>({
    taskQueue: egressTaskQueue,
    // An SMTP session with the RFC 5321 §4.5.3.2 timeouts can take many minutes against a
    // slow server; liveness is watched by the heartbeat instead (a dead worker is noticed
    // within 15 s and the attempt runs again elsewhere).
    startToCloseTimeout: '30m',
    heartbeatTimeout: '15s',
    retry: INFRA_RETRY,
  });
}

export const bookkeeping = proxyActivities<Pick<MessageActivities, 'expire'>>({
  startToCloseTimeout: '1m',
  retry: INFRA_RETRY,
});

export const control = proxyActivities<ControlActivities>({
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

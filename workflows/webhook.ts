import { condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { webhookActivities } from './activity-options.js';
import { workflowNow } from './clock.js';
import { type WebhookWorkflowInput, webhookWakeSignal } from './contract.js';

/** Drains before the workflow starts afresh (bounded history: about 10 events per drain). */
const DRAINS_PER_RUN = 200;
/**
 * While an endpoint is busy, the next drain comes this long after the last unless that
 * batch was full (ms): events gather into batches, as messages do into waves, so a busy
 * endpoint costs Temporal at most four drains a second, not one per handful of events.
 * Drained back to back, the bench's endpoint took small batches and Temporal's CPU per
 * delivered message almost doubled.
 */
const GATHER_MS = 250;

/**
 * The actor of one webhook endpoint: the only place its events are sent from, so it owns
 * the endpoint's concurrency, retries and auto-disable. It drains the endpoint's outbox in
 * batches through an activity: again at once after a full batch, GATHER_MS later while it
 * is busy, and when idle once the next retry is due or a wake signal says new events were
 * queued (the node sends at most one per second per endpoint). A
 * signal during a drain is remembered, so no wake-up is lost; an actor that misses one
 * anyway (a node died between commit and signal) is woken by the node's sweeper.
 */
export async function webhookEndpointWorkflow(input: WebhookWorkflowInput): Promise<void> {
  let woken = false;
  setHandler(webhookWakeSignal, () => {
    woken = true;
  });
  for (let drains = 0; drains < DRAINS_PER_RUN && !workflowInfo().continueAsNewSuggested; drains++) {
    woken = false;
    const r = await webhookActivities.drainWebhook(input);
    switch (r.kind) {
      case 'gone':
        return;
      case 'disabled':
        // Re-enabling (PATCH status enabled) wakes it.
        await condition(() => woken);
        break;
      case 'drained': {
        if (r.more) break;
        const dueInMs =
          r.nextDueAtMs === null
            ? null
            : Math.max(GATHER_MS, r.nextDueAtMs - Math.max(workflowNow(), r.finishedAtMs));
        // Busy (it just sent something): look again soon rather than wait for a signal, which
        // the node sends at most once a second. Idle: sleep until the next retry or a wake.
        const waitMs = r.attempted > 0 ? GATHER_MS : dueInMs;
        if (waitMs === null) await condition(() => woken);
        else await condition(() => woken, waitMs);
        break;
      }
    }
  }
  await continueAsNew<typeof webhookEndpointWorkflow>(input);
}

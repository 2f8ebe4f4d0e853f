import { condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { webhookActivities } from './activity-options.js';
import { workflowNow } from './clock.js';
import { type WebhookWorkflowInput, webhookWakeSignal } from './contract.js';

/** Drains before the workflow starts afresh (bounded history: about 10 events per drain). */
const DRAINS_PER_RUN = 200;

/**
 * The actor of one webhook endpoint: the only place its events are sent from, so it owns
 * the endpoint's concurrency, retries and auto-disable. It drains the endpoint's outbox in
 * batches through an activity, then sleeps until the next event is due or a wake signal
 * says new events were queued (the node sends at most one per second per endpoint). A
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
        if (r.nextDueAtMs === null) await condition(() => woken);
        else {
          const waitMs = r.nextDueAtMs - Math.max(workflowNow(), r.finishedAtMs);
          if (waitMs > 0) await condition(() => woken, waitMs);
        }
        break;
      }
    }
  }
  await continueAsNew<typeof webhookEndpointWorkflow>(input);
}

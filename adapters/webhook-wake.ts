import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { type WebhookWorkflowInput, webhookWakeSignal, webhookWorkflowId } from '../workflows/contract.js';
import type { WebhookStore } from './postgres/webhooks.js';
import { MESSAGE_TASK_QUEUE } from './temporal.js';

/**
 * Wakes webhook endpoint actors after their outbox got rows: a signal-with-start (one RPC;
 * it starts the actor if it is not running), at most one per endpoint per `minIntervalMs`
 * from this node. Under load an endpoint costs Temporal at most one signal a second per
 * node, however many events are queued: the actor drains them all in batches.
 */
export interface WebhookWaker {
  wake(webhookIds: readonly string[]): void;
  close(): Promise<void>;
}

export function createWebhookWaker(o: {
  client: Client;
  log: Logger;
  now: () => number;
  minIntervalMs: number;
}): WebhookWaker {
  /** Endpoint → when it was last signalled (ms), and a timer when a signal is pending. */
  const last = new Map<string, number>();
  const pending = new Map<string, NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  function signal(id: string): void {
    last.set(id, o.now());
    const p = o.client.workflow
      .signalWithStart('webhookEndpointWorkflow', {
        taskQueue: MESSAGE_TASK_QUEUE,
        workflowId: webhookWorkflowId(id),
        args: [{ webhookId: id } satisfies WebhookWorkflowInput],
        signal: webhookWakeSignal,
        signalArgs: [],
      })
      .then(
        () => {},
        // The sweeper wakes actors whose events stay due, so a failed signal is only late.
        (err: unknown) =>
          o.log.warn({ err, event: 'webhook.wake_failed', webhookId: id }, 'could not wake a webhook actor'),
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  return {
    wake(ids) {
      if (closed) return;
      for (const id of new Set(ids)) {
        if (pending.has(id)) continue;
        const wait = (last.get(id) ?? Number.NEGATIVE_INFINITY) + o.minIntervalMs - o.now();
        if (wait <= 0) {
          signal(id);
          continue;
        }
        const t = setTimeout(() => {
          pending.delete(id);
          if (!closed) signal(id);
        }, wait);
        t.unref();
        pending.set(id, t);
      }
      // Forget endpoints quiet for a while (bounded memory with many endpoints).
      if (last.size > 10_000) {
        const cutoff = o.now() - o.minIntervalMs;
        for (const [id, at] of last) if (at < cutoff) last.delete(id);
      }
    },
    async close() {
      closed = true;
      for (const t of pending.values()) clearTimeout(t);
      pending.clear();
      await Promise.all(inFlight);
    },
  };
}

/**
 * Wakes the actors of endpoints whose events have been due for longer than `graceMs`: a
 * node killed between committing events and signalling, or a signal that failed. The first
 * sweep runs at start, so events a killed node left are sent right after a restart.
 */
export function startWebhookSweeper(o: {
  store: Pick<WebhookStore, 'overdue'>;
  waker: WebhookWaker;
  log: Logger;
  intervalMs: number;
  graceMs: number;
}): { close(): Promise<void> } {
  let running: Promise<void> | null = null;
  const sweep = () => {
    running ??= o.store
      .overdue(o.graceMs, 1000)
      .then((ids) => o.waker.wake(ids))
      .catch((err) => o.log.warn({ err, event: 'webhook.sweep_failed' }, 'webhook sweep failed'))
      .finally(() => {
        running = null;
      });
  };
  sweep();
  const timer = setInterval(sweep, o.intervalMs);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}

import type { Logger } from 'pino';
import type { MessageStore, UnstartedMessage } from '../adapters/postgres/messages.js';
import type { RetrySchedule } from '../core/retry-schedule.js';
import type { MessageStarter, PendingStart } from './accept.js';

/** Workflow starts in flight at once for one request or sweep (each is one gRPC call). */
const START_CONCURRENCY = 16;

/**
 * Starts committed messages' workflows and records which started. A start that fails is
 * logged and left: the message stays `workflow_started = false` for the start sweeper.
 */
export function createStartMessages(deps: {
  starter: MessageStarter;
  messages: Pick<MessageStore, 'markStarted'>;
  log: Logger;
}) {
  /** Returns how many were started. */
  return async (pending: readonly PendingStart[]): Promise<number> => {
    const started: string[] = [];
    let next = 0;
    const worker = async () => {
      for (let p = pending[next++]; p; p = pending[next++]) {
        try {
          await deps.starter.start(p);
          started.push(p.input.messageId);
        } catch (err) {
          deps.log.warn(
            { err, event: 'message.start_failed', messageId: p.input.messageId },
            'workflow start failed after commit; the start sweeper will retry',
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, pending.length) }, worker));
    await deps.messages.markStarted(started).catch((err) =>
      // The workflows exist; the sweeper's repeated start is a no-op (same workflow id).
      deps.log.warn({ err, event: 'message.mark_started_failed' }, 'could not record workflow starts'),
    );
    return started.length;
  };
}

/** What the sweeper hands back to Temporal for a message that was committed but never started. */
export function pendingStartOf(
  m: UnstartedMessage,
  retry: RetrySchedule,
  egressTaskQueue: string,
  nowMs: number,
): PendingStart {
  return {
    input: {
      messageId: m.id,
      recipients: m.recipients,
      acceptedAtMs: m.scheduledAtMs ?? m.createdAtMs,
      retry,
      egressTaskQueue,
    },
    attributes: { tenant: m.tenantName, sendingDomain: m.sendingDomain, messageType: m.messageType },
    delayMs: m.scheduledAtMs === null ? 0 : Math.max(0, Math.round(m.scheduledAtMs - nowMs)),
  };
}

export interface StartSweeperOptions {
  readonly messages: Pick<MessageStore, 'unstarted'>;
  readonly startMessages: (pending: readonly PendingStart[]) => Promise<number>;
  readonly retry: RetrySchedule;
  readonly egressTaskQueue: string;
  readonly now: () => number;
  readonly log: Logger;
  /** Between sweeps, ms. */
  readonly intervalMs: number;
  /** A message younger than this is still its accepting request's to start, s. */
  readonly graceSec: number;
}

/** Messages started per sweep; a backlog drains over consecutive sweeps. */
const SWEEP_LIMIT = 500;

/**
 * The backstop of accept's promise: every committed message gets its workflow, even when
 * the start after the commit failed or the node died between commit and start. Runs on
 * every node; two nodes sweeping the same message start one workflow (same id).
 */
export function startSweeper(o: StartSweeperOptions): { close(): Promise<void> } {
  let running: Promise<void> | null = null;
  const sweep = async () => {
    for (;;) {
      const found = await o.messages.unstarted(o.graceSec, SWEEP_LIMIT);
      if (found.length === 0) return;
      o.log.info({ event: 'message.start_sweep', count: found.length }, 'starting committed messages');
      const started = await o.startMessages(
        found.map((m) => pendingStartOf(m, o.retry, o.egressTaskQueue, o.now())),
      );
      // Go on at once only through a backlog that Temporal is taking.
      if (found.length < SWEEP_LIMIT || started < found.length) return;
    }
  };
  const timer = setInterval(() => {
    running ??= sweep()
      .catch((err) => o.log.warn({ err, event: 'message.start_sweep_failed' }, 'start sweep failed'))
      .finally(() => {
        running = null;
      });
  }, o.intervalMs);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}

import type { Logger } from 'pino';
import type { MessageStore, UnstartedMessage } from '../adapters/postgres/messages.js';
import type { RetrySchedule } from '../core/delivery/retry-schedule.js';
import type { MessageStarter, PendingStart } from '../workflows/contract.js';
import type { WaveFormer } from './wave-former.js';

/** Workflow starts in flight at once for one request or sweep (each is one gRPC call). */
const START_CONCURRENCY = 16;

/**
 * Starts committed messages' own message workflows (scheduled sends, or every message with
 * waves of one) and records which started. A start that fails is logged and left: the
 * message stays `workflow_started = false` for the start sweeper.
 */
export function createStartMessages(deps: {
  starter: MessageStarter;
  messages: Pick<MessageStore, 'markStarted'>;
  log: Logger;
}) {
  return async (pending: readonly PendingStart[]): Promise<void> => {
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
  };
}

/** What the sweeper hands back to Temporal for a message that was committed but never started. */
export function pendingStartOf(
  m: UnstartedMessage,
  retry: RetrySchedule,
  egressTaskQueue: string,
): PendingStart {
  return {
    input: {
      messageId: m.id,
      recipients: m.recipients,
      acceptedAtMs: m.scheduledAtMs ?? m.createdAtMs,
      retry,
      egressTaskQueue,
      // A scheduled send waits in its own workflow, even when its time has passed meanwhile
      // (it then leaves at once): a wave would not record its release.
      ...(m.scheduledAtMs === null ? {} : { scheduledAtMs: Math.round(m.scheduledAtMs) }),
    },
    attributes: { tenant: m.tenantName, sendingDomain: m.sendingDomain, messageType: m.messageType },
    delayMs: 0,
  };
}

export interface StartSweeperOptions {
  readonly messages: Pick<MessageStore, 'unstarted'>;
  readonly former: Pick<WaveFormer, 'add' | 'idle'>;
  readonly node: string;
  readonly retry: RetrySchedule;
  readonly egressTaskQueue: string;
  readonly now: () => number;
  readonly log: Logger;
  /** Between sweeps, ms. */
  readonly intervalMs: number;
  /** A message of this node younger than this is still its accepting request's, s. */
  readonly ownGraceSec: number;
  /** Another node's message this old was left by a node that has not come back, s. */
  readonly anyGraceSec: number;
}

/** Messages handed over per sweep; a backlog drains over consecutive sweeps. */
const SWEEP_LIMIT = 500;

/**
 * The backstop of accept's promise: every committed message gets its first workflow, even
 * when the start after the commit failed or the node died between commit and start. Runs
 * on every node. This node's messages are swept soon while its wave former is idle (else
 * they may still be in it), and after the longer grace otherwise, like another node's. A
 * message swept twice is still delivered once: waves claim their messages, message
 * workflows are unique by id.
 */
export function startSweeper(o: StartSweeperOptions): { close(): Promise<void> } {
  let running: Promise<void> | null = null;
  const sweep = async () => {
    const found = await o.messages.unstarted(
      o.node,
      o.former.idle(),
      o.ownGraceSec,
      o.anyGraceSec,
      SWEEP_LIMIT,
    );
    if (found.length === 0) return;
    o.log.info({ event: 'message.start_sweep', count: found.length }, 'handing over committed messages');
    o.former.add(found.map((m) => pendingStartOf(m, o.retry, o.egressTaskQueue)));
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

import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import type { MessageForDelivery, MessageStore } from '../adapters/postgres/messages.js';
import { inMessageTrace } from '../adapters/tracing.js';
import { groupByDomain } from '../core/address.js';
import { afterDeferral } from '../core/delivery/retry-schedule.js';
import type {
  DeliverResult,
  MessageStarter,
  PendingStart,
  WaveInput,
  WaveResult,
} from '../workflows/contract.js';
import type { Deliver } from './deliver.js';

export interface DeliverWaveDeps {
  readonly messages: Pick<MessageStore, 'claimForWave' | 'forDeliveryMany'>;
  readonly deliver: Deliver['deliverLoaded'];
  /** Starts the message workflow of a message the wave hands on (idempotent by id). */
  readonly starter: MessageStarter;
  /** Messages this node is delivering in waves right now: +n at start, -n at the end. */
  readonly load: (delta: number) => void;
}

/**
 * Every promise's value, in order, once all of them have finished; the first failure only
 * then. A wave that failed while another of its attempts was still waiting for the journal
 * (PostgreSQL down) would be run again by Temporal, find that message still queued and send
 * it a second time; with this, a run fails only once every attempt it made is recorded.
 */
async function allFinished<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const outcomes = await Promise.allSettled(promises);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
  return outcomes.map((o) => (o as PromiseFulfilledResult<T>).value);
}

/** Recipients still to try: not settled by an earlier run of this wave, never suppressed. */
const OPEN = new Set(['queued', 'deferred']);

/**
 * The wave's local activity: claims its messages in PostgreSQL (a wave delivers only what
 * it claimed), makes every message's first attempt through the node's egress dispatcher,
 * and hands each message it cannot settle (deferred, held by a pause or by routing,
 * throttled, or routed to an IP on another node) to its own message workflow, started with
 * the wave's attempt count and IP so that retries and greylisting go on from there. Run
 * again after a crash, it skips what the journal already settled.
 */
export function createDeliverWave(deps: DeliverWaveDeps) {
  async function firstAttempt(message: MessageForDelivery, input: WaveInput): Promise<PendingStart | null> {
    const ctx = Context.current();
    const open = Object.entries(message.recipientState).filter(([, state]) => OPEN.has(state));
    const groups = groupByDomain(open.map(([address]) => address));
    const results = await allFinished(
      [...groups].map(async ([domain, recipients]) => ({
        domain,
        // In the message's own trace, linked to the wave (docs/operations.md, "Traces").
        result: await inMessageTrace(input.traces?.[message.id], () =>
          deps.deliver(
            message,
            { messageId: message.id, domain, recipients, attempt: 1, preferredIp: null },
            // Local activities have no heartbeat: the wave's workflow task is kept alive instead.
            { heartbeat: () => {}, signal: ctx.cancellationSignal },
          ),
        ),
      })),
    );
    const rest: string[] = [];
    const resume: Record<string, { attempts: number; ip: string | null }> = {};
    let delayMs = Number.POSITIVE_INFINITY;
    for (const { domain, result } of results) {
      const next = continuation(result, input, message.acceptedAtMs);
      if (!next) continue;
      rest.push(...(next.recipients ?? groups.get(domain)!));
      resume[domain] = next.resume;
      delayMs = Math.min(delayMs, next.delayMs);
    }
    if (rest.length === 0) return null;
    return {
      input: {
        messageId: message.id,
        recipients: rest,
        acceptedAtMs: message.acceptedAtMs,
        retry: input.retry,
        egressTaskQueue: input.egressTaskQueue,
        resume,
        ...(input.traces?.[message.id] ? { trace: input.traces[message.id] } : {}),
      },
      attributes: {
        tenant: message.tenantName,
        sendingDomain: message.sendingDomain,
        messageType: message.messageType,
      },
      delayMs,
    };
  }

  return async function deliverWave(input: WaveInput): Promise<WaveResult> {
    // Every delivery of the wave listens on the activity's one cancellation signal: as many
    // listeners as messages, by design (Node warns past 10 otherwise).
    setMaxListeners(0, Context.current().cancellationSignal);
    const claimed = await deps.messages.claimForWave(input.waveId, input.messageIds);
    const messages = await deps.messages.forDeliveryMany(claimed);
    deps.load(messages.length);
    try {
      const next = await allFinished(messages.map((m) => firstAttempt(m, input)));
      const continued = next.filter((p): p is PendingStart => p !== null);
      // A failed start throws: Temporal runs the wave again, which skips what is settled.
      await Promise.all(continued.map((p) => deps.starter.start(p)));
      const mine = new Set(claimed);
      return {
        settled: messages.length - continued.length,
        continued: continued.map((p) => p.input.messageId),
        skipped: input.messageIds.filter((id) => !mine.has(id)),
      };
    } finally {
      deps.load(-messages.length);
    }
  };
}

/**
 * What a group's first attempt leaves for the message workflow: nothing when every
 * recipient was settled; else the recipients, the wave's attempts and IP, and how long
 * to wait before the next try.
 */
function continuation(
  result: DeliverResult,
  input: WaveInput,
  acceptedAtMs: number,
): {
  recipients?: string[];
  resume: { attempts: number; ip: string | null };
  delayMs: number;
} | null {
  if (result.wait) {
    switch (result.wait.kind) {
      // Nothing reached the remote. A held message waits in its workflow for the release
      // signal; one bound to another node's IP goes there from its workflow.
      case 'held':
        return { resume: { attempts: 0, ip: null }, delayMs: 0 };
      case 'elsewhere':
        return { resume: { attempts: 0, ip: result.wait.ip }, delayMs: 0 };
      case 'throttled':
        return { resume: { attempts: 0, ip: null }, delayMs: result.wait.retryAfterMs };
    }
  }
  const deferred = result.recipients.filter((r) => r.verdict === 'deferred');
  if (deferred.length === 0) return null;
  const decision = afterDeferral(input.retry, 1, result.finishedAtMs - acceptedAtMs, deferred);
  return {
    recipients: deferred.map((r) => r.address),
    resume: { attempts: 1, ip: result.ip },
    // An expiry on the first attempt (a max age shorter than the first delay) is the
    // message workflow's to record: it tries once more at once and then expires.
    delayMs: decision.kind === 'retry' ? decision.delayMs : 0,
  };
}

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { PendingStart, WaveInput, WaveStarter } from '../workflows/contract.js';

export interface WaveFormerOptions {
  /** Most messages in one wave; 1 gives every message its own workflow from the start. */
  readonly maxWave: number;
  /**
   * Waves leave at most this often unless full, ms: the first message after a quiet spell
   * leaves at once, and under load each wave carries what came in the meantime.
   */
  readonly windowMs: number;
  /** Wave starts in flight at once. */
  readonly maxInFlight: number;
  /** Messages this node delivers in waves at once; past it, messages wait here (ids only). */
  readonly maxDelivering: number;
  /**
   * In-flow control: once the oldest message waiting here has waited this long (ms), a new
   * request is held (`admit`) until the backlog is younger again, for at most
   * `maxInflowDelayMs`.
   */
  readonly backlogMs: number;
  readonly maxInflowDelayMs: number;
  readonly waves: WaveStarter;
  /** Starts message workflows (scheduled sends, or maxWave 1). */
  readonly startMessages: (pending: readonly PendingStart[]) => Promise<void>;
  readonly log: Logger;
  readonly now: () => number;
}

/** gRPC INVALID_ARGUMENT (3) or FAILED_PRECONDITION (9): asking again gets the same answer. */
function refusedForGood(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 3; depth++) {
    if (e.code === 3 || e.code === 9) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/**
 * Forms delivery waves from committed messages, like a group commit: after a quiet spell a
 * message leaves at once as a wave of one (latency first); under load, messages gather and
 * leave together, a wave every `windowMs` or as soon as `maxWave` are there, with at most
 * `maxInFlight` starts outstanding. A workflow's fixed cost (start, workflow task, claim and
 * load queries) is then shared by more messages as the load grows. Starts are paced to what
 * the node is delivering (`maxDelivering`), so a burst waits here as ids, not as workflows
 * in Temporal's cache. A wave's claim of its messages records them as started (one UPDATE
 * per message, not two); a wave whose start fails is left to the start sweeper (its
 * messages stay workflow_started = false).
 */
export function createWaveFormer(o: WaveFormerOptions) {
  const queue: PendingStart[] = [];
  let inFlight = 0;
  let inFlightMessages = 0;
  let delivering = 0;
  let windowTimer: NodeJS.Timeout | null = null;
  let lastLaunch = Number.NEGATIVE_INFINITY;
  const starts = new Set<Promise<void>>();
  /** Requests held by in-flow control, released when the backlog is young again. */
  const held = new Set<() => void>();
  /**
   * Message id → when it was handed to this former (ms), while it is queued or its wave's
   * start is in flight. The start sweeper hands over again what is still unstarted after
   * its grace, and after downtime that is every message of the backlog on each sweep: a
   * message already here is not queued twice.
   */
  const handedOver = new Map<string, number>();

  // Counted from the hand-over, not from acceptance: a backlog the sweeper hands over after
  // downtime is old when it arrives, but it is not yet a sign of delivery falling behind.
  const backlogTooOld = () =>
    queue.length > 0 && o.now() - handedOver.get(queue[0]!.input.messageId)! >= o.backlogMs;

  function releaseHeld(): void {
    if (held.size === 0 || backlogTooOld()) return;
    for (const release of held) release();
    held.clear();
  }

  function track(p: Promise<void>): void {
    starts.add(p);
    void p.finally(() => starts.delete(p));
  }

  function launch(wave: PendingStart[]): void {
    inFlight++;
    inFlightMessages += wave.length;
    const ids = wave.map((p) => p.input.messageId);
    const traces = Object.fromEntries(
      wave.flatMap((p) => (p.input.trace ? [[p.input.messageId, p.input.trace] as const] : [])),
    );
    const input: WaveInput = {
      waveId: `wave-${randomUUID()}`,
      messageIds: ids,
      retry: wave[0]!.input.retry,
      egressTaskQueue: wave[0]!.input.egressTaskQueue,
      // Each message's delivery span joins its own trace (docs/operations.md, "Traces").
      ...(Object.keys(traces).length > 0 ? { traces } : {}),
    };
    track(
      o.waves
        .start(input, wave)
        .catch(async (err) => {
          if (!refusedForGood(err)) {
            o.log.warn(
              { err, event: 'wave.start_failed', count: ids.length },
              'wave start failed; the start sweeper will retry',
            );
            return;
          }
          // The server will never take this wave (a limit it enforces): each message gets
          // its own workflow instead, so nothing is retried for ever.
          o.log.error(
            { err, event: 'wave.start_refused', count: ids.length },
            'wave refused; starting message workflows',
          );
          await o.startMessages(wave);
        })
        .finally(() => {
          inFlight--;
          inFlightMessages -= wave.length;
          for (const id of ids) handedOver.delete(id);
          pump();
        }),
    );
  }

  /**
   * At the delivering limit, the room a wave waits for: half a full wave, for at most one
   * window. Deliveries end one by one, and launching into each freed place would cut a long
   * queue into waves of one or two just when it is longest, each paying a workflow's whole
   * cost; the window bounds the wait when deliveries end slowly (slow receivers).
   */
  const minRoom = Math.max(1, Math.floor(Math.min(o.maxWave, o.maxDelivering) / 2));
  /** Since when a wave has been waiting for room (ms), or null. */
  let roomWaitSince: number | null = null;

  /** When the armed timer fires (ms), or +Infinity. */
  let timerDueAt = Number.POSITIVE_INFINITY;

  /**
   * Pumps again in `ms` at the latest. One timer serves both waits (the window and the room),
   * so an earlier wait re-arms it: otherwise a wave due at the end of its window could sit
   * behind a room wait armed before it, for up to a window more.
   */
  function pumpIn(ms: number): void {
    const dueAt = o.now() + ms;
    if (windowTimer && timerDueAt <= dueAt) return;
    if (windowTimer) clearTimeout(windowTimer);
    timerDueAt = dueAt;
    windowTimer = setTimeout(() => {
      windowTimer = null;
      timerDueAt = Number.POSITIVE_INFINITY;
      pump();
    }, ms);
  }

  function pump(): void {
    while (queue.length > 0 && inFlight < o.maxInFlight) {
      const room = o.maxDelivering - delivering - inFlightMessages;
      // No room at all: a delivery's end (load) pumps again.
      if (room <= 0) return;
      if (room < Math.min(minRoom, queue.length)) {
        roomWaitSince ??= o.now();
        const left = roomWaitSince + o.windowMs - o.now();
        if (left > 0) {
          pumpIn(left);
          return;
        }
      }
      const wait = lastLaunch + o.windowMs - o.now();
      if (queue.length < o.maxWave && wait > 0) {
        pumpIn(wait);
        return;
      }
      roomWaitSince = null;
      lastLaunch = o.now();
      launch(queue.splice(0, Math.min(o.maxWave, room)));
      releaseHeld();
    }
  }

  return {
    /** Hands committed messages to Temporal; returns at once. */
    add(pending: readonly PendingStart[]): void {
      // A scheduled send waits in its own workflow until its time, never in a wave.
      const ownWorkflow = (p: PendingStart) =>
        o.maxWave === 1 || p.delayMs > 0 || p.input.scheduledAtMs !== undefined;
      const direct = pending.filter(ownWorkflow);
      if (direct.length > 0) track(o.startMessages(direct));
      const at = o.now();
      for (const p of pending) {
        if (ownWorkflow(p) || handedOver.has(p.input.messageId)) continue;
        handedOver.set(p.input.messageId, at);
        queue.push(p);
      }
      pump();
    },
    /**
     * Resolves when a new request may go on: at once while the backlog is young, else when
     * it is young again or after `maxInflowDelayMs`, whichever comes first. Postfix's
     * in_flow_delay does the same for smtpd (postconf(5)): when messages arrive faster than
     * they are delivered, each arrival pauses, so a sustained overload slows the senders
     * instead of growing a queue without end; a short burst passes unhindered.
     */
    admit(): Promise<void> {
      if (!backlogTooOld()) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const release = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          held.delete(release);
          resolve();
        }, o.maxInflowDelayMs);
        held.add(release);
      });
    },
    /** The node's wave deliveries report their size here (+n at start, -n at the end). */
    load(delta: number): void {
      delivering += delta;
      if (delta < 0) pump();
    },
    /** Nothing queued and no start in flight: every message handed over has been started or failed. */
    idle(): boolean {
      return queue.length === 0 && inFlight === 0;
    },
    /** Waits for starts in flight; what is still queued is left to the sweeper of the next start. */
    async close(): Promise<void> {
      if (windowTimer) clearTimeout(windowTimer);
      for (const p of queue) handedOver.delete(p.input.messageId);
      queue.length = 0;
      releaseHeld();
      await Promise.all([...starts]);
    },
  };
}

export type WaveFormer = ReturnType<typeof createWaveFormer>;

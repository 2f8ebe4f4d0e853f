import {
  type AimdState,
  aimdCongested,
  aimdLimits,
  aimdRecovered,
  aimdStale,
  aimdStart,
  aimdSucceeded,
} from '../core/delivery/aimd.js';
import type { EgressLimits } from '../core/delivery/egress-limits.js';
import { OTHER_PROVIDER } from '../core/delivery/providers.js';
import type { SmtpPhase, SmtpReply } from '../core/delivery/smtp-reply.js';
import type { SmtpSendResult } from '../core/delivery/smtp-result.js';
import type { Envelope, SessionFailure, TlsMode } from '../core/delivery/smtp-session-types.js';
import {
  formatThrottleSpec,
  type GcraState,
  gcraTake,
  gcraWaitMs,
  type ThrottleSpec,
} from '../core/delivery/throttle-spec.js';
import type { LocalSuspension } from '../core/routing/local-suspensions.js';
import { type ReplyEffects, replyEffects } from '../core/routing/reply-effects.js';
import type { LocalSuspensionTable } from './routing/local-suspensions.js';
import { type Clock, type OpenSession, type SessionHandle, systemClock } from './session.js';

/**
 * The node's egress dispatcher (docs/architecture.md, "The path of a message", step 6). Per
 * (source IP × site) it keeps a FIFO ready queue of deliveries and the SMTP connections to
 * that site, and enforces the queue's EgressLimits:
 *  - open connections (in use, idle, being opened or closed) ≤ maxConnections: a connection
 *    counts until its socket is closed, so the receiver never sees more;
 *  - a delivery starts only when a message-rate cell conforms (GCRA, core/delivery/throttle-spec.ts),
 *    and a connection opens only when a connection-rate cell conforms;
 *  - a connection carries at most maxMessagesPerConnection transactions, is reused for the
 *    same (IP, MX host, address, TLS mode) after RSET (RFC 5321 §4.1.1.5), never after any error, and
 *    closes after idleTimeoutMs unused.
 * A delivery that would wait too long (queue full, or the rate puts it past maxWaitMs) is
 * answered "throttled, retry after T" at once, so the workflow sleeps durably instead of an
 * activity slot being held.
 *
 * It also reads every reply its sessions get (docs/architecture.md, "The reroute path"):
 *  - a refusal the reputation rules read as a suspension of the IP for the provider
 *    suspends it on this node at once (egress/routing/local-suspensions.ts): the deliveries
 *    queued for that IP × provider are answered "suspended" and routed again by their
 *    callers, and new ones are refused until the IP workflow's state replaces the entry;
 *  - "too many connections" and other rate limits halve the queue's connection limit and
 *    rate, and successes give them back step by step (AIMD, core/delivery/aimd.ts), within
 *    the configured limits.
 */
export interface DispatcherOptions {
  readonly openSession: OpenSession;
  readonly clock?: Clock;
  /** Longest wait for a message-rate cell before answering throttled, ms. */
  readonly maxWaitMs?: number;
  /** How often a waiting delivery's onWait runs (Temporal heartbeat), ms. */
  readonly heartbeatMs?: number;
  /** retryAfter for a full queue when no message rate gives a better estimate, ms. */
  readonly queueFullRetryMs?: number;
  /** The node's own IP × provider suspensions; without it no refusal suspends anything. */
  readonly suspensions?: Pick<LocalSuspensionTable, 'suspend' | 'active'>;
}

export interface AcquireRequest {
  /** Source IP; null: the machine's default source address (egress/session.ts, SessionTarget). */
  readonly ip: string | null;
  /** Ready-queue site: core/delivery/site.ts siteKey, or core/delivery/egress-limits.ts readyQueueSite. */
  readonly site: string;
  /** This queue's limits (core/delivery/egress-limits.ts); the latest request's limits apply to the queue. */
  readonly limits: EgressLimits;
  /** Cancels the wait (Temporal's activity cancellationSignal). */
  readonly signal?: AbortSignal | undefined;
  /** Called every heartbeatMs while waiting. */
  readonly onWait?: (() => void) | undefined;
  /** The site's mailbox provider (core/delivery/providers.ts): replies are read for it. */
  readonly provider?: string | null | undefined;
}

export type ThrottleReason = 'queue_full' | 'message_rate' | 'closed';

export type AcquireResult =
  | { readonly kind: 'granted'; readonly lease: Lease; readonly waitedMs: number }
  | { readonly kind: 'throttled'; readonly retryAfterMs: number; readonly reason: ThrottleReason }
  /** The IP is suspended on this node for the provider: route the delivery again. */
  | { readonly kind: 'suspended'; readonly suspension: LocalSuspension }
  | { readonly kind: 'cancelled' };

/** The right to deliver one message on one (IP × site): send it, then release. */
export interface Lease {
  /**
   * One transaction to `mxHost` at `address`, over an idle connection of this queue to the
   * same target (after RSET) or a new one. A `session_failed` result means no transaction
   * was started: the caller moves on to the next address or MX host within the same lease.
   * `tls` (default opportunistic) is part of the target: sessions are reused only within it.
   */
  send(
    target: { mxHost: string; address: string; tls?: TlsMode },
    envelope: Envelope,
    message: Buffer,
  ): Promise<SmtpSendResult>;
  /**
   * Gives the lease back; the connection goes idle for reuse unless it is unhealthy, used up,
   * or `sessionHealthy: false` says the caller saw something wrong with it. Idempotent.
   */
  release(opts?: { sessionHealthy?: boolean }): void;
}

export interface QueueStats {
  /** Source IP; null: the machine's default source address. */
  readonly ip: string | null;
  readonly site: string;
  /** Deliveries waiting now. */
  readonly queued: number;
  /** Leases granted and not released. */
  readonly active: number;
  /** Connections open now (in use, idle, opening or closing). */
  readonly connections: number;
  readonly idleConnections: number;
  readonly peakQueued: number;
  readonly peakConnections: number;
  /** Transactions started (MAIL FROM sent) over this queue's connections. */
  readonly messagesSent: number;
  readonly sessionsOpened: number;
  readonly throttled: number;
  /** The site's provider, as the latest delivery named it; null when none did. */
  readonly provider: string | null;
  /** Configured connection limit (egressLimits). */
  readonly maxConnections: number;
  /** Connections allowed now: the configured limit, or less after rate-limit replies (AIMD). */
  readonly concurrency: number;
  /** Configured message rate, e.g. "300/min,burst=20"; null: unlimited. */
  readonly messageRate: string | null;
  /** Message rate allowed now; null: unlimited. */
  readonly currentMessageRate: string | null;
  /** Times the receiver's rate-limit replies lowered this queue's limits. */
  readonly congestionDecreases: number;
  /** The last such decrease, ISO 8601; null: none. */
  readonly lastCongestionAt: string | null;
}

export interface Dispatcher {
  acquire(req: AcquireRequest): Promise<AcquireResult>;
  stats(): QueueStats[];
  /** Refuses new work, cancels waiters, closes idle connections (in-use ones on release). */
  close(): Promise<void>;
}

interface Session {
  readonly handle: SessionHandle;
  readonly mxHost: string;
  readonly address: string;
  readonly tls: TlsMode;
  state: 'busy' | 'idle' | 'closing';
  messages: number;
  /** When it last went idle, as a sequence number: reuse takes the most recent, eviction the oldest. */
  idleSeq: number;
  idleTimer: unknown;
  closed: Promise<void> | null;
}

interface Waiter {
  readonly enqueuedAt: number;
  readonly resolve: (r: AcquireResult) => void;
  readonly cleanup: () => void;
}

/** What a queue's AIMD state remembers of it once the queue itself is gone. */
interface QueueId {
  readonly ip: string | null;
  readonly site: string;
  readonly provider: string | null;
  readonly limits: EgressLimits;
}

interface Queue {
  readonly key: string;
  readonly ip: string | null;
  readonly site: string;
  limits: EgressLimits;
  provider: string | null;
  readonly waiters: Waiter[];
  leases: number;
  /** Open (or closing) sessions; opening ones are counted in `opening`. */
  readonly sessions: Set<Session>;
  opening: number;
  messageGcra: GcraState | null;
  /** Leases granted that have not yet taken their message-rate cell. */
  untaken: number;
  connectionGcra: GcraState | null;
  /** Re-runs pump when the head waiter's rate cell conforms. */
  timer: unknown;
  disposeTimer: unknown;
  /** Leases waiting inside send() for a connection slot or a connection-rate cell. */
  changeWaiters: (() => void)[];
  peakQueued: number;
  peakConnections: number;
  messagesSent: number;
  sessionsOpened: number;
  throttled: number;
}

const count = (q: Queue, state: Session['state']) => [...q.sessions].filter((s) => s.state === state).length;
const openConnections = (q: Queue) => q.sessions.size + q.opening;
const rateText = (r: ThrottleSpec | null) => (r ? formatThrottleSpec(r) : null);

/** Every reply in a session's result, with the phase it answered. */
function repliesOf(result: SmtpSendResult): { reply: SmtpReply; phase: SmtpPhase }[] {
  switch (result.kind) {
    case 'session_failed':
      return result.reply ? [{ reply: result.reply, phase: result.phase }] : [];
    case 'mail_rejected':
      return result.reply ? [{ reply: result.reply, phase: 'mail' }] : [];
    case 'transaction': {
      const out: { reply: SmtpReply; phase: SmtpPhase }[] = [];
      for (const r of result.recipients)
        if (!r.accepted && r.reply) out.push({ reply: r.reply, phase: 'rcpt' });
      if ((result.data.kind === 'accepted' || result.data.kind === 'rejected') && result.data.reply)
        out.push({ reply: result.data.reply, phase: 'dot' });
      return out;
    }
  }
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const clock = options.clock ?? systemClock;
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const heartbeatMs = options.heartbeatMs ?? 1_000;
  const queueFullRetryMs = options.queueFullRetryMs ?? 1_000;
  const queues = new Map<string, Queue>();
  /** AIMD state per queue key; kept while reduced, even when the queue itself is gone. */
  const adaptive = new Map<string, AimdState & { readonly queue: QueueId }>();
  let closed = false;
  let idleSeq = 0;

  /** The limits the queue runs under now: configured, lowered by its AIMD state. */
  function lim(q: Queue): EgressLimits {
    return aimdLimits(adaptive.get(q.key), q.limits);
  }

  function queueFor(ip: string | null, site: string, limits: EgressLimits, provider: string | null): Queue {
    // An address is never empty, so the default source address's queues cannot collide with an IP's.
    const key = `${ip ?? ''} ${site}`;
    let q = queues.get(key);
    if (!q) {
      q = {
        key,
        ip,
        site,
        limits,
        provider,
        waiters: [],
        leases: 0,
        sessions: new Set(),
        opening: 0,
        messageGcra: null,
        untaken: 0,
        connectionGcra: null,
        timer: null,
        disposeTimer: null,
        changeWaiters: [],
        peakQueued: 0,
        peakConnections: 0,
        messagesSent: 0,
        sessionsOpened: 0,
        throttled: 0,
      };
      queues.set(key, q);
    }
    q.limits = limits;
    if (provider !== null) q.provider = provider;
    if (q.disposeTimer !== null) {
      clock.clearTimeout(q.disposeTimer);
      q.disposeTimer = null;
    }
    return q;
  }

  /** Wakes the leases waiting for a connection slot; they re-check. */
  function changed(q: Queue): void {
    const waiting = q.changeWaiters.splice(0);
    for (const wake of waiting) wake();
  }

  function waitForChange(q: Queue, timeoutMs: number | null): Promise<void> {
    return new Promise((resolve) => {
      let timer: unknown = null;
      const wake = () => {
        if (timer !== null) clock.clearTimeout(timer);
        resolve();
      };
      q.changeWaiters.push(wake);
      if (timeoutMs !== null) {
        timer = clock.setTimeout(
          () => {
            timer = null;
            const i = q.changeWaiters.indexOf(wake);
            if (i >= 0) q.changeWaiters.splice(i, 1);
            resolve();
          },
          Math.max(1, Math.ceil(timeoutMs)),
        );
      }
    });
  }

  /** Forgets a queue with nothing in it once its rate state no longer constrains anything. */
  function maybeDispose(q: Queue): void {
    if (q.waiters.length > 0 || q.leases > 0 || q.sessions.size > 0 || q.opening > 0) return;
    if (q.disposeTimer !== null) return;
    const until = Math.max(q.messageGcra?.tat ?? 0, q.connectionGcra?.tat ?? 0) - clock.now();
    if (until <= 0) {
      if (q.timer !== null) clock.clearTimeout(q.timer);
      queues.delete(q.key);
      return;
    }
    q.disposeTimer = clock.setTimeout(
      () => {
        q.disposeTimer = null;
        maybeDispose(q);
      },
      Math.ceil(until),
      true,
    );
  }

  function closeSession(q: Queue, s: Session): Promise<void> {
    if (s.closed) return s.closed;
    s.state = 'closing';
    if (s.idleTimer !== null) clock.clearTimeout(s.idleTimer);
    s.idleTimer = null;
    s.closed = s.handle
      .close()
      .catch(() => {})
      .then(() => {
        q.sessions.delete(s);
        changed(q);
        pump(q);
        maybeDispose(q);
      });
    return s.closed;
  }

  /** A session back from a lease: idle for reuse, or closed. */
  function park(q: Queue, s: Session, healthy: boolean): void {
    const usable =
      !closed &&
      healthy &&
      s.handle.healthy &&
      s.messages < q.limits.maxMessagesPerConnection &&
      openConnections(q) <= lim(q).maxConnections;
    if (!usable) {
      void closeSession(q, s);
      return;
    }
    s.state = 'idle';
    s.idleSeq = ++idleSeq;
    s.idleTimer = clock.setTimeout(
      () => {
        s.idleTimer = null;
        if (s.state === 'idle') void closeSession(q, s);
      },
      q.limits.idleTimeoutMs,
      true,
    );
    changed(q);
  }

  /**
   * Takes an idle session to the target out of the idle set, the most recently used one: the
   * others stay unused and expire, so the queue keeps as few connections as its load needs.
   */
  function takeIdle(q: Queue, mxHost: string, address: string, tls: TlsMode): Session | null {
    let found: Session | null = null;
    for (const s of q.sessions) {
      if (s.state !== 'idle' || s.mxHost !== mxHost || s.address !== address || s.tls !== tls) continue;
      if (!found || s.idleSeq > found.idleSeq) found = s;
    }
    if (!found) return null;
    found.state = 'busy';
    if (found.idleTimer !== null) clock.clearTimeout(found.idleTimer);
    found.idleTimer = null;
    return found;
  }

  function oldestIdle(q: Queue): Session | null {
    let found: Session | null = null;
    for (const s of q.sessions) if (s.state === 'idle' && (!found || s.idleSeq < found.idleSeq)) found = s;
    return found;
  }

  const closedFailure: SessionFailure = {
    kind: 'session_failed',
    phase: 'connect',
    reply: null,
    detail: 'egress dispatcher closed',
  };

  /** A connection for a lease: reuse (after RSET where needed) or open, within the queue's limits. */
  async function sessionFor(
    q: Queue,
    mxHost: string,
    address: string,
    tls: TlsMode,
    allowReuse: boolean,
  ): Promise<{ session: Session; reused: boolean } | { failure: SessionFailure }> {
    for (;;) {
      if (closed) return { failure: closedFailure };
      const idle = allowReuse ? takeIdle(q, mxHost, address, tls) : null;
      if (idle) {
        // RFC 5321 §4.1.1.5: RSET before a new transaction on a kept connection whose last
        // one failed (egress/session.ts); a connection dropped while idle is tried again below.
        if (idle.handle.healthy && (await idle.handle.reset().catch(() => false)) && idle.handle.healthy) {
          return { session: idle, reused: true };
        }
        await closeSession(q, idle);
        continue;
      }
      if (openConnections(q) >= lim(q).maxConnections) {
        // At the limit: make room by closing an idle connection to another target, and wait
        // for its socket to be gone (or for any other change) before opening.
        const victim = oldestIdle(q);
        if (victim) await closeSession(q, victim);
        else await waitForChange(q, null);
        continue;
      }
      const rate = lim(q).connectionRate;
      if (rate) {
        const d = gcraTake(q.connectionGcra, rate, clock.now());
        if (!d.allowed) {
          await waitForChange(q, d.retryAfterMs);
          continue;
        }
        q.connectionGcra = d.state;
      }
      q.opening++;
      q.peakConnections = Math.max(q.peakConnections, openConnections(q));
      let opened: Awaited<ReturnType<OpenSession>>;
      try {
        opened = await options.openSession({ ip: q.ip, mxHost, address, tls });
      } catch (err) {
        opened = {
          ok: false,
          failure: { kind: 'session_failed', phase: 'connect', reply: null, detail: String(err) },
        };
      } finally {
        q.opening--;
      }
      if (!opened.ok) {
        changed(q);
        pump(q);
        return { failure: opened.failure };
      }
      const session: Session = {
        handle: opened.handle,
        mxHost,
        address,
        tls,
        state: 'busy',
        messages: 0,
        idleSeq: 0,
        idleTimer: null,
        closed: null,
      };
      q.sessions.add(session);
      q.sessionsOpened++;
      if (closed) {
        await closeSession(q, session);
        return { failure: closedFailure };
      }
      return { session, reused: false };
    }
  }

  /**
   * Takes the lease's message-rate cell just before MAIL FROM, not at grant: connection set-up
   * takes a variable time, and the receiver counts transactions as they arrive. pump() grants
   * a lease only when its cell is due (counting the cells of leases granted before it), so
   * this rarely waits.
   */
  async function takeMessageCell(q: Queue): Promise<void> {
    for (;;) {
      const rate = lim(q).messageRate;
      if (!rate || closed) break;
      const d = gcraTake(q.messageGcra, rate, clock.now());
      if (d.allowed) {
        q.messageGcra = d.state;
        break;
      }
      await waitForChange(q, d.retryAfterMs);
    }
    q.untaken--;
  }

  /** Takes the queues' AIMD states that say nothing any more out of the table. */
  function pruneAdaptive(now: number): void {
    for (const [key, a] of adaptive) {
      const limits = queues.get(key)?.limits ?? a.queue.limits;
      if (aimdStale(a, now) || aimdRecovered(a, limits)) adaptive.delete(key);
    }
  }

  /** Answers the deliveries queued for a suspended IP × provider: their callers route them again. */
  function evict(ip: string, provider: string, suspension: LocalSuspension): void {
    for (const q of queues.values()) {
      if (q.ip !== ip || (q.provider ?? OTHER_PROVIDER) !== provider) continue;
      for (const w of q.waiters.splice(0)) {
        w.cleanup();
        w.resolve({ kind: 'suspended', suspension });
      }
      maybeDispose(q);
    }
  }

  /**
   * What a session's replies mean for the IP and the queue: a suspension of the IP for the
   * provider, congestion (the limits halve), or a success (they grow back).
   */
  function feedback(q: Queue, result: SmtpSendResult, leaseEpoch: number): void {
    const provider = q.provider ?? OTHER_PROVIDER;
    const effects: ReplyEffects[] = repliesOf(result).map(({ reply, phase }) =>
      replyEffects(reply, phase, provider),
    );
    const suspend = effects.find((e) => e.suspend !== null)?.suspend;
    if (suspend && q.ip !== null && options.suspensions) {
      const created = options.suspensions.suspend(q.ip, provider, suspend.ruleId, suspend.durationMs);
      if (created) evict(q.ip, provider, created);
    }
    const now = clock.now();
    const state = adaptive.get(q.key);
    const where = { queue: { ip: q.ip, site: q.site, provider: q.provider, limits: q.limits } };
    if (effects.some((e) => e.congested)) {
      const next = aimdCongested(state ?? aimdStart(q.limits, now), q.limits, leaseEpoch, now);
      adaptive.set(q.key, { ...next, ...where });
    } else if (state && result.kind !== 'session_failed') {
      const next = aimdSucceeded(state, q.limits, now);
      if (aimdRecovered(next, q.limits)) adaptive.delete(q.key);
      else adaptive.set(q.key, { ...next, ...where });
      // One more connection may be allowed now.
      changed(q);
      pump(q);
    }
  }

  function makeLease(q: Queue): Lease {
    const epoch = adaptive.get(q.key)?.epoch ?? 0;
    let current: Session | null = null;
    let released = false;
    let sending = false;
    let cellTaken = false;
    return {
      async send(target, envelope, message) {
        if (released) throw new Error('egress lease used after release');
        if (sending) throw new Error('egress lease: one send at a time');
        sending = true;
        try {
          let allowReuse = true;
          for (;;) {
            if (current) {
              // A second transaction on this lease: its connection goes back to the idle set
              // first, so sessionFor applies the same checks (health, RSET, messages per
              // connection) and takes it back when the target is the same.
              park(q, current, true);
              current = null;
            }
            const got = await sessionFor(
              q,
              target.mxHost,
              target.address,
              target.tls ?? 'opportunistic',
              allowReuse,
            );
            if ('failure' in got) {
              // A refused greeting ("421 too many connections", "[TS04]") is a reply too.
              feedback(q, got.failure, epoch);
              return got.failure;
            }
            current = got.session;
            if (!cellTaken) {
              cellTaken = true;
              await takeMessageCell(q);
            }
            const result = await current.handle.send(envelope, message).catch(
              (err): SmtpSendResult => ({
                kind: 'session_failed',
                phase: 'mail',
                reply: null,
                detail: String(err),
              }),
            );
            feedback(q, result, epoch);
            if (result.kind !== 'session_failed') {
              current.messages++;
              q.messagesSent++;
              return result;
            }
            // A kept connection the server dropped while idle fails before MAIL FROM is answered;
            // nothing was sent, so try once more on a fresh connection.
            void closeSession(q, current);
            current = null;
            if (!got.reused || !allowReuse) return result;
            allowReuse = false;
          }
        } finally {
          sending = false;
        }
      },
      release(opts) {
        if (released) return;
        released = true;
        q.leases--;
        if (!cellTaken) q.untaken--;
        if (current) park(q, current, opts?.sessionHealthy !== false);
        current = null;
        changed(q);
        pump(q);
        maybeDispose(q);
      },
    };
  }

  /** Grants head-of-line waiters while the limits allow; otherwise arms a timer or waits for a release. */
  function pump(q: Queue): void {
    if (q.timer !== null) {
      clock.clearTimeout(q.timer);
      q.timer = null;
    }
    while (q.waiters.length > 0) {
      // Every lease may need a connection; closing ones still hold a slot at the receiver.
      const limits = lim(q);
      if (q.leases + count(q, 'closing') >= limits.maxConnections) return;
      const now = clock.now();
      // The head's message cell comes after those of the leases granted before it.
      let wait = limits.messageRate ? gcraWaitMs(q.messageGcra, limits.messageRate, now, q.untaken) : 0;
      // With no idle connection the lease will open one: wait here, in FIFO order, for the
      // connection-rate cell rather than inside the lease.
      if (wait === 0 && limits.connectionRate && count(q, 'idle') === 0) {
        const d = gcraTake(q.connectionGcra, limits.connectionRate, now);
        if (!d.allowed) wait = d.retryAfterMs;
      }
      if (wait > 0) {
        q.timer = clock.setTimeout(
          () => {
            q.timer = null;
            pump(q);
          },
          Math.max(1, Math.ceil(wait)),
        );
        return;
      }
      const w = q.waiters.shift()!;
      w.cleanup();
      q.leases++;
      q.untaken++;
      w.resolve({ kind: 'granted', lease: makeLease(q), waitedMs: now - w.enqueuedAt });
    }
  }

  function throttled(q: Queue | null, retryAfterMs: number, reason: ThrottleReason): AcquireResult {
    if (q) q.throttled++;
    return { kind: 'throttled', retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)), reason };
  }

  async function acquire(req: AcquireRequest): Promise<AcquireResult> {
    if (req.signal?.aborted) return { kind: 'cancelled' };
    if (closed) return throttled(null, queueFullRetryMs, 'closed');
    const suspension =
      req.ip !== null && options.suspensions
        ? options.suspensions.active(req.ip, req.provider ?? OTHER_PROVIDER)
        : null;
    if (suspension) return { kind: 'suspended', suspension };
    const q = queueFor(req.ip, req.site, req.limits, req.provider ?? null);
    const now = clock.now();
    const ahead = q.waiters.length;
    const rate = lim(q).messageRate;
    const rateWait = rate ? gcraWaitMs(q.messageGcra, rate, now, ahead + q.untaken) : 0;
    if (ahead >= q.limits.maxQueueDepth) {
      return throttled(q, Math.max(rateWait, queueFullRetryMs), 'queue_full');
    }
    if (rateWait > maxWaitMs) return throttled(q, rateWait, 'message_rate');
    return new Promise<AcquireResult>((resolve) => {
      let beat: unknown = null;
      const heartbeat = () => {
        beat = clock.setTimeout(() => {
          req.onWait?.();
          heartbeat();
        }, heartbeatMs);
      };
      const onAbort = () => {
        const i = q.waiters.indexOf(waiter);
        if (i < 0) return;
        q.waiters.splice(i, 1);
        waiter.cleanup();
        resolve({ kind: 'cancelled' });
        pump(q);
        maybeDispose(q);
      };
      const waiter: Waiter = {
        enqueuedAt: now,
        resolve,
        cleanup: () => {
          if (beat !== null) clock.clearTimeout(beat);
          beat = null;
          req.signal?.removeEventListener('abort', onAbort);
        },
      };
      q.waiters.push(waiter);
      q.peakQueued = Math.max(q.peakQueued, q.waiters.length);
      req.signal?.addEventListener('abort', onAbort, { once: true });
      pump(q);
      if (q.waiters.includes(waiter) && req.onWait) heartbeat();
    });
  }

  return {
    acquire,
    stats() {
      pruneAdaptive(clock.now());
      const adaptiveOf = (key: string) => {
        const a = adaptive.get(key);
        return {
          congestionDecreases: a?.decreases ?? 0,
          lastCongestionAt: a?.lastDecreaseMs != null ? new Date(a.lastDecreaseMs).toISOString() : null,
        };
      };
      const live = [...queues.values()].map((q) => ({
        ip: q.ip,
        site: q.site,
        queued: q.waiters.length,
        active: q.leases,
        connections: openConnections(q),
        idleConnections: count(q, 'idle'),
        peakQueued: q.peakQueued,
        peakConnections: q.peakConnections,
        messagesSent: q.messagesSent,
        sessionsOpened: q.sessionsOpened,
        throttled: q.throttled,
        provider: q.provider,
        maxConnections: q.limits.maxConnections,
        concurrency: lim(q).maxConnections,
        messageRate: rateText(q.limits.messageRate),
        currentMessageRate: rateText(lim(q).messageRate),
        ...adaptiveOf(q.key),
      }));
      // A queue with nothing left to do is gone, but a reduced limit stays until it recovers
      // or goes stale: the next delivery to the site starts from it.
      const resting = [...adaptive]
        .filter(([key]) => !queues.has(key))
        .map(([key, a]) => ({
          ip: a.queue.ip,
          site: a.queue.site,
          queued: 0,
          active: 0,
          connections: 0,
          idleConnections: 0,
          peakQueued: 0,
          peakConnections: 0,
          messagesSent: 0,
          sessionsOpened: 0,
          throttled: 0,
          provider: a.queue.provider,
          maxConnections: a.queue.limits.maxConnections,
          concurrency: aimdLimits(a, a.queue.limits).maxConnections,
          messageRate: rateText(a.queue.limits.messageRate),
          currentMessageRate: rateText(aimdLimits(a, a.queue.limits).messageRate),
          ...adaptiveOf(key),
        }));
      return [...live, ...resting];
    },
    async close() {
      closed = true;
      const closing: Promise<void>[] = [];
      for (const q of queues.values()) {
        if (q.timer !== null) clock.clearTimeout(q.timer);
        q.timer = null;
        for (const w of q.waiters.splice(0)) {
          w.cleanup();
          w.resolve({ kind: 'cancelled' });
        }
        for (const s of q.sessions)
          if (s.state === 'idle' || s.state === 'closing') closing.push(closeSession(q, s));
        changed(q);
      }
      await Promise.all(closing);
    },
  };
}

import type { SmtpSendResult } from '../../../core/delivery/smtp-result.js';
import type { Envelope, SessionFailure } from '../../../core/delivery/smtp-session-types.js';
import type { Clock, OpenResult, SessionHandle, SessionTarget } from '../../../egress/session.js';

/** Lets pending promise callbacks and I/O-free continuations run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** A manual clock: time moves only in advance(), timers fire in order. */
export class FakeClock implements Clock {
  t = 0;
  #timers: Timer[] = [];
  #seq = 0;

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: ++this.#seq, at: this.t + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Moves time forward by `ms`, firing due timers one at a time with flushes in between. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }

  /** Advances in steps until `done` settles; fails after `limitMs` of fake time. */
  async runUntil<T>(done: Promise<T>, stepMs = 10, limitMs = 600_000): Promise<T> {
    let settled = false;
    void done.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    const start = this.t;
    while (!settled) {
      if (this.t - start > limitMs) throw new Error(`not settled after ${limitMs} ms of fake time`);
      await this.advance(stepMs);
    }
    return done;
  }
}

export interface FakeBehaviour {
  /** Time connecting takes, ms of fake time (default 1). */
  openMs?: number;
  /** Time one transaction takes, ms of fake time. */
  sendMs?: number;
  /** Time QUIT and the socket close take, ms of fake time. */
  closeMs?: number;
  /** Result of the n-th send over a session (n from 1); default delivered. */
  result?: (session: FakeSession, n: number) => SmtpSendResult | 'broken' | undefined;
  /** Opening fails for these targets. */
  refuse?: (target: SessionTarget) => boolean;
  /** Opening fails with this failure (a refused greeting, say); `open` counts this socket. */
  refuseWith?: (target: SessionTarget, open: number) => SessionFailure | null;
  /** RSET answer. */
  resetOk?: (session: FakeSession) => boolean;
}

export const delivered = (recipients: readonly string[]): SmtpSendResult => ({
  kind: 'transaction',
  recipients: recipients.map((address) => ({ address, accepted: true })),
  data: { kind: 'accepted', reply: { code: 250, enhanced: '2.0.0', text: 'ok' } },
  tls: null,
});

export class FakeSession implements SessionHandle {
  healthy = true;
  closed = false;
  sends = 0;
  resets = 0;
  /** Events on this session in order: 'send', 'reset', 'close'. */
  readonly log: string[] = [];

  constructor(
    readonly id: number,
    readonly target: SessionTarget,
    private readonly factory: FakeSessions,
  ) {}

  async send(envelope: Envelope, _message: Buffer): Promise<SmtpSendResult> {
    if (this.closed) throw new Error(`send on closed session ${this.id}`);
    if (this.factory.inFlight.has(this)) throw new Error(`two transactions at once on session ${this.id}`);
    this.factory.inFlight.add(this);
    this.sends++;
    this.log.push('send');
    this.factory.sendTimes.push(this.factory.clock.now());
    await this.factory.clock.sleep(this.factory.behaviour.sendMs ?? 0);
    this.factory.inFlight.delete(this);
    const r = this.factory.behaviour.result?.(this, this.sends) ?? delivered(envelope.recipients);
    if (r === 'broken') {
      this.healthy = false;
      return { kind: 'session_failed', phase: 'mail', reply: null, detail: 'ECONNECTION: closed' };
    }
    return r;
  }

  async reset(): Promise<boolean> {
    this.resets++;
    this.log.push('reset');
    const ok = this.factory.behaviour.resetOk?.(this) ?? true;
    if (!ok) this.healthy = false;
    return ok;
  }

  async close(): Promise<void> {
    if (this.closed) throw new Error(`session ${this.id} closed twice`);
    this.log.push('close');
    this.healthy = false;
    await this.factory.clock.sleep(this.factory.behaviour.closeMs ?? 0);
    this.closed = true;
    this.factory.open--;
  }
}

/** The openSession factory: counts sockets as the receiver would see them. */
export class FakeSessions {
  readonly sessions: FakeSession[] = [];
  readonly inFlight = new Set<FakeSession>();
  readonly openTimes: number[] = [];
  readonly sendTimes: number[] = [];
  open = 0;
  peakOpen = 0;

  constructor(
    readonly clock: FakeClock,
    readonly behaviour: FakeBehaviour = {},
  ) {}

  readonly openSession = async (target: SessionTarget): Promise<OpenResult> => {
    this.open++;
    this.peakOpen = Math.max(this.peakOpen, this.open);
    this.openTimes.push(this.clock.now());
    await this.clock.sleep(this.behaviour.openMs ?? 1);
    const failure = this.behaviour.refuseWith?.(target, this.open) ?? null;
    if (failure) {
      this.open--;
      return { ok: false, failure };
    }
    if (this.behaviour.refuse?.(target)) {
      this.open--;
      return {
        ok: false,
        failure: { kind: 'session_failed', phase: 'connect', reply: null, detail: 'ECONNREFUSED' },
      };
    }
    const s = new FakeSession(this.sessions.length + 1, target, this);
    this.sessions.push(s);
    return { ok: true, handle: s };
  };
}

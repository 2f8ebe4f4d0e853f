import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_EGRESS_LIMITS, type EgressLimits } from '../../../core/delivery/egress-limits.js';
import type { SmtpSendResult } from '../../../core/delivery/smtp-result.js';
import { parseThrottleSpec, type ThrottleSpec } from '../../../core/delivery/throttle-spec.js';
import { type AcquireResult, createDispatcher, type Dispatcher } from '../../../egress/dispatcher.js';
import { FakeClock, FakeSessions, flush } from './fakes.js';

const IP = '127.0.0.2';
const SITE = 'mx1.example.net|mx2.example.net';
const MX = { mxHost: 'mx1.example.net', address: '192.0.2.1' };
const ENVELOPE = { mailFrom: 'bounces@example.com', recipients: ['a@example.org'] };
const BODY = Buffer.from('Subject: hi\r\n\r\nhello\r\n');

function rate(text: string): ThrottleSpec {
  const p = parseThrottleSpec(text);
  if (!p.ok) throw new Error(p.error);
  return p.spec;
}

function limits(over: Partial<EgressLimits> = {}): EgressLimits {
  return { ...DEFAULT_EGRESS_LIMITS, ...over };
}

function setup(behaviour: ConstructorParameters<typeof FakeSessions>[1] = {}, maxWaitMs?: number) {
  const clock = new FakeClock();
  const fake = new FakeSessions(clock, behaviour);
  const dispatcher = createDispatcher({ openSession: fake.openSession, clock, maxWaitMs });
  return { clock, fake, dispatcher };
}

/** What a delivery activity does: acquire, send, release. */
async function deliver(
  d: Dispatcher,
  l: EgressLimits,
  target = MX,
  opts: { signal?: AbortSignal; onWait?: () => void } = {},
): Promise<SmtpSendResult | AcquireResult> {
  const r = await d.acquire({ ip: IP, site: SITE, limits: l, ...opts });
  if (r.kind !== 'granted') return r;
  try {
    return await r.lease.send(target, ENVELOPE, BODY);
  } finally {
    r.lease.release();
  }
}

test('open connections never exceed maxConnections, and connections are reused', async () => {
  const { clock, fake, dispatcher } = setup({ sendMs: 100, closeMs: 5 });
  const l = limits({ maxConnections: 3, maxMessagesPerConnection: 5 });
  const all = Promise.all(Array.from({ length: 50 }, () => deliver(dispatcher, l)));
  const results = await clock.runUntil(all);
  assert.ok(results.every((r) => r.kind === 'transaction'));
  assert.equal(fake.peakOpen, 3, 'three connections at the receiver at most');
  assert.equal(fake.sendTimes.length, 50);
  // At most 5 per connection, and every connection used to the end except the last three,
  // which share the remainder: 9 × 5 + (2 + 2 + 1).
  assert.ok(fake.sessions.every((s) => s.sends <= 5));
  assert.deepEqual(
    fake.sessions.map((s) => s.sends),
    [5, 5, 5, 5, 5, 5, 5, 5, 5, 2, 2, 1],
  );
  const [stats] = dispatcher.stats();
  assert.equal(stats!.peakConnections, 3);
  assert.equal(stats!.messagesSent, 50);
  assert.equal(stats!.sessionsOpened, 12);
  assert.equal(stats!.peakQueued, 47);
  await clock.runUntil(dispatcher.close());
});

test('the message rate holds: burst=1 spaces messages by T, burst=b lets b go at once', async () => {
  for (const [spec, burst] of [
    ['10/s', 1],
    ['10/s,burst=4', 4],
  ] as const) {
    // New connections take 250 ms to set up, reused ones none: the rate must hold where the
    // receiver sees it, at MAIL FROM, not where the lease was granted.
    const { clock, fake, dispatcher } = setup({ sendMs: 0, openMs: 250 });
    const l = limits({ maxConnections: 5, messageRate: rate(spec) });
    await clock.runUntil(Promise.all(Array.from({ length: 30 }, () => deliver(dispatcher, l))), 1);
    const times = fake.sendTimes;
    assert.equal(times.length, 30);
    // The receiver's view: no window of 1 s holds more than 10 + (burst − 1) messages.
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter((t) => t >= times[i]! && t < times[i]! + 1000).length;
      assert.ok(inWindow <= 10 + burst - 1, `${spec}: ${inWindow} messages in 1 s from ${times[i]}`);
    }
    assert.equal(times.filter((t) => t === times[0]).length, burst, `${spec}: burst at the start`);
    for (let i = burst; i < times.length; i++)
      assert.ok(times[i]! - times[i - 1]! >= 100, `${spec}: spacing`);
    await clock.runUntil(dispatcher.close());
  }
});

test('a connection is reused with RSET and closed after maxMessagesPerConnection', async () => {
  const { clock, fake, dispatcher } = setup({ sendMs: 10 });
  const l = limits({ maxConnections: 1, maxMessagesPerConnection: 3 });
  for (let i = 0; i < 7; i++) await clock.runUntil(deliver(dispatcher, l));
  assert.deepEqual(
    fake.sessions.map((s) => s.sends),
    [3, 3, 1],
  );
  // RSET before every transaction but the first on a connection (RFC 5321 §4.1.1.5).
  assert.deepEqual(fake.sessions[0]!.log, ['send', 'reset', 'send', 'reset', 'send', 'close']);
  assert.deepEqual(fake.sessions[2]!.log, ['send']);
  assert.equal(fake.peakOpen, 1);
  await clock.runUntil(dispatcher.close());
  assert.equal(fake.open, 0);
});

test('a connection that reported an error is never reused', async () => {
  const { clock, fake, dispatcher } = setup();
  const l = limits({ maxConnections: 1 });
  await clock.runUntil(deliver(dispatcher, l));
  // The adapter marks a session unhealthy on a timeout, a drop or a 421; the fake is told here.
  fake.sessions[0]!.healthy = false;
  await clock.runUntil(deliver(dispatcher, l));
  assert.equal(fake.sessions.length, 2, 'an unhealthy idle session is closed, not reused');
  assert.deepEqual(fake.sessions[0]!.log, ['send', 'close']);
  // The caller can also say so at release.
  const r = await clock.runUntil(dispatcher.acquire({ ip: IP, site: SITE, limits: l }));
  assert.equal(r.kind, 'granted');
  if (r.kind === 'granted') {
    await clock.runUntil(r.lease.send(MX, ENVELOPE, BODY));
    r.lease.release({ sessionHealthy: false });
  }
  await clock.runUntil(deliver(dispatcher, l));
  assert.equal(fake.sessions.length, 3);
  assert.deepEqual(fake.sessions[1]!.log, ['send', 'reset', 'send', 'close']);
  // A failed RSET means the connection is gone: closed, and a fresh one opened.
  fake.behaviour.resetOk = () => false;
  await clock.runUntil(deliver(dispatcher, l));
  assert.equal(fake.sessions.length, 4);
  assert.deepEqual(fake.sessions[2]!.log, ['send', 'reset', 'close']);
  assert.equal(fake.peakOpen, 1);
  await clock.runUntil(dispatcher.close());
});

test('a kept connection the server dropped is retried once on a fresh one', async () => {
  const { clock, fake, dispatcher } = setup({
    result: (s, n) => (s.id === 1 && n === 2 ? 'broken' : undefined),
  });
  const l = limits({ maxConnections: 2 });
  await clock.runUntil(deliver(dispatcher, l));
  const second = await clock.runUntil(deliver(dispatcher, l));
  assert.equal(second.kind, 'transaction');
  assert.equal(fake.sessions.length, 2);
  assert.deepEqual(fake.sessions[0]!.log, ['send', 'reset', 'send', 'close']);
  // A fresh connection failing the same way is reported, not retried again.
  fake.behaviour.result = () => 'broken';
  const third = await clock.runUntil(deliver(dispatcher, l));
  assert.equal(third.kind, 'session_failed');
  assert.equal(fake.sessions.length, 3);
  await clock.runUntil(dispatcher.close());
});

test('a full queue answers throttled at once, and so does a rate wait past maxWaitMs', async () => {
  const { clock, dispatcher } = setup({}, 30_000);
  const l = limits({ maxConnections: 1, maxQueueDepth: 2 });
  const held = await dispatcher.acquire({ ip: IP, site: SITE, limits: l });
  assert.equal(held.kind, 'granted');
  const waiting = [
    dispatcher.acquire({ ip: IP, site: SITE, limits: l }),
    dispatcher.acquire({ ip: IP, site: SITE, limits: l }),
  ];
  const full = await dispatcher.acquire({ ip: IP, site: SITE, limits: l });
  assert.equal(full.kind, 'throttled');
  assert.equal(full.kind === 'throttled' && full.reason, 'queue_full');
  assert.ok(full.kind === 'throttled' && full.retryAfterMs > 0);
  assert.equal(dispatcher.stats()[0]!.throttled, 1);
  // Releasing lets the waiters through in order.
  if (held.kind === 'granted') held.lease.release();
  const a = await clock.runUntil(waiting[0]!);
  assert.equal(a.kind, 'granted');
  if (a.kind === 'granted') a.lease.release();
  const b = await clock.runUntil(waiting[1]!);
  assert.equal(b.kind, 'granted');
  if (b.kind === 'granted') b.lease.release();

  const slow = limits({ maxConnections: 5, messageRate: rate('1/min') });
  const first = await dispatcher.acquire({ ip: IP, site: 'other', limits: slow });
  assert.equal(first.kind, 'granted');
  const t0 = clock.now();
  const second = await dispatcher.acquire({ ip: IP, site: 'other', limits: slow });
  assert.equal(clock.now(), t0, 'answered without waiting');
  assert.deepEqual(second, { kind: 'throttled', retryAfterMs: 60_000, reason: 'message_rate' });
  await clock.runUntil(dispatcher.close());
});

test('a waiter within maxWaitMs waits for its rate cell and heartbeats meanwhile', async () => {
  const { clock, dispatcher } = setup({}, 30_000);
  const l = limits({ messageRate: rate('6/min') }); // one every 10 s
  // The first message takes its cell when its transaction starts, at t = 1 ms (after connecting).
  await clock.runUntil(deliver(dispatcher, l), 1);
  assert.equal(clock.now(), 1);
  let beats = 0;
  const second = dispatcher.acquire({ ip: IP, site: SITE, limits: l, onWait: () => beats++ });
  const r = await clock.runUntil(second, 100);
  assert.equal(r.kind, 'granted');
  assert.equal(r.kind === 'granted' && r.waitedMs, 10_000);
  assert.ok(beats >= 9 && beats <= 10, `${beats} heartbeats in 10 s`);
  if (r.kind === 'granted') r.lease.release();
  await clock.runUntil(dispatcher.close());
});

test('a granted lease holds its message cell until it sends or releases', async () => {
  const { clock, dispatcher } = setup({}, 30_000);
  const l = limits({ messageRate: rate('6/min') });
  const first = await dispatcher.acquire({ ip: IP, site: SITE, limits: l });
  assert.equal(first.kind, 'granted');
  const second = dispatcher.acquire({ ip: IP, site: SITE, limits: l });
  await clock.advance(60_000);
  assert.equal(dispatcher.stats()[0]!.queued, 1, 'the unsent lease still holds the next cell');
  if (first.kind === 'granted') first.lease.release();
  const r = await clock.runUntil(second, 1);
  assert.equal(r.kind, 'granted');
  assert.equal(r.kind === 'granted' && r.waitedMs, 60_000, 'granted as soon as the cell is given back');
  if (r.kind === 'granted') r.lease.release();
  await clock.runUntil(dispatcher.close());
});

test('an aborted wait leaves the queue at once and leaks nothing', async () => {
  const { clock, dispatcher } = setup();
  const l = limits({ maxConnections: 1 });
  const held = await dispatcher.acquire({ ip: IP, site: SITE, limits: l });
  assert.equal(held.kind, 'granted');
  const controller = new AbortController();
  let beats = 0;
  const waiting = dispatcher.acquire({
    ip: IP,
    site: SITE,
    limits: l,
    signal: controller.signal,
    onWait: () => beats++,
  });
  const after = dispatcher.acquire({ ip: IP, site: SITE, limits: l });
  await clock.advance(2_500);
  assert.equal(dispatcher.stats()[0]!.queued, 2);
  controller.abort();
  assert.deepEqual(await waiting, { kind: 'cancelled' });
  assert.equal(dispatcher.stats()[0]!.queued, 1);
  const beatsAtAbort = beats;
  await clock.advance(5_000);
  assert.equal(beats, beatsAtAbort, 'no heartbeat after cancellation');
  // The lease is granted to the next waiter, not to the cancelled one.
  if (held.kind === 'granted') held.lease.release();
  const next = await clock.runUntil(after);
  assert.equal(next.kind, 'granted');
  assert.equal(dispatcher.stats()[0]!.active, 1);
  // Already aborted: no queueing at all.
  assert.deepEqual(await dispatcher.acquire({ ip: IP, site: SITE, limits: l, signal: AbortSignal.abort() }), {
    kind: 'cancelled',
  });
  if (next.kind === 'granted') next.lease.release();
  assert.equal(dispatcher.stats()[0]?.active ?? 0, 0);
  await clock.runUntil(dispatcher.close());
});

test('an idle connection closes after idleTimeoutMs, and the empty queue is forgotten', async () => {
  const { clock, fake, dispatcher } = setup({ sendMs: 10 });
  const l = limits({ idleTimeoutMs: 30_000 });
  await clock.runUntil(deliver(dispatcher, l));
  assert.equal(dispatcher.stats()[0]!.idleConnections, 1);
  await clock.advance(29_000);
  assert.equal(fake.open, 1);
  // Reuse restarts the idle clock.
  await clock.runUntil(deliver(dispatcher, l));
  await clock.advance(29_999);
  assert.equal(fake.open, 1);
  await clock.advance(1);
  assert.equal(fake.open, 0);
  assert.equal(fake.sessions.length, 1);
  assert.deepEqual(dispatcher.stats(), []);
});

test('the connection rate spaces new connections; a full queue of connections evicts idle ones', async () => {
  const { clock, fake, dispatcher } = setup({ sendMs: 50 });
  const l = limits({ maxConnections: 4, connectionRate: rate('1/s') });
  await clock.runUntil(Promise.all(Array.from({ length: 8 }, () => deliver(dispatcher, l))));
  for (let i = 1; i < fake.openTimes.length; i++)
    assert.ok(fake.openTimes[i]! - fake.openTimes[i - 1]! >= 1000);
  await clock.runUntil(dispatcher.close());

  // At the connection limit, a delivery to another MX host closes an idle connection first
  // and opens only once its socket is gone.
  const second = setup({ closeMs: 20 });
  const two = limits({ maxConnections: 2 });
  await second.clock.runUntil(
    Promise.all([deliver(second.dispatcher, two), deliver(second.dispatcher, two)]),
  );
  assert.equal(second.fake.open, 2);
  const other = { mxHost: 'mx2.example.net', address: '192.0.2.2' };
  const r = await second.clock.runUntil(deliver(second.dispatcher, two, other));
  assert.equal(r.kind, 'transaction');
  assert.equal(second.fake.peakOpen, 2);
  assert.equal(second.fake.sessions.filter((s) => s.closed).length, 1);
  await second.clock.runUntil(second.dispatcher.close());
});

test('a refused connection is reported and frees its slot; queues are per (IP × site)', async () => {
  const { clock, fake, dispatcher } = setup({ refuse: (t) => t.address === '192.0.2.9' });
  const l = limits({ maxConnections: 1 });
  const r = await dispatcher.acquire({ ip: IP, site: SITE, limits: l });
  assert.equal(r.kind, 'granted');
  if (r.kind !== 'granted') return;
  const refused = await clock.runUntil(r.lease.send({ mxHost: 'mx9', address: '192.0.2.9' }, ENVELOPE, BODY));
  assert.equal(refused.kind, 'session_failed');
  // The same lease moves on to the next MX host.
  const ok = await clock.runUntil(r.lease.send(MX, ENVELOPE, BODY));
  assert.equal(ok.kind, 'transaction');
  r.lease.release();
  // Another site or another IP has its own budget.
  const a = await dispatcher.acquire({ ip: IP, site: 'elsewhere', limits: l });
  const b = await dispatcher.acquire({ ip: '127.0.0.3', site: SITE, limits: l });
  assert.equal(a.kind, 'granted');
  assert.equal(b.kind, 'granted');
  assert.equal(dispatcher.stats().length, 3);
  if (a.kind === 'granted') a.lease.release();
  if (b.kind === 'granted') b.lease.release();
  assert.equal(fake.sessions.length, 1);
  await clock.runUntil(dispatcher.close());
});

test('the default source address (ip null) has queues of its own and reaches the session as null', async () => {
  const { clock, fake, dispatcher } = setup();
  const l = limits({ maxConnections: 1 });
  const os = await dispatcher.acquire({ ip: null, site: SITE, limits: l });
  const pooled = await dispatcher.acquire({ ip: IP, site: SITE, limits: l });
  assert.equal(os.kind, 'granted');
  assert.equal(pooled.kind, 'granted', 'a pool IP does not share the default address budget');
  if (os.kind !== 'granted' || pooled.kind !== 'granted') return;
  assert.deepEqual(
    dispatcher.stats().map((q) => q.ip),
    [null, IP],
  );
  assert.equal((await clock.runUntil(os.lease.send(MX, ENVELOPE, BODY))).kind, 'transaction');
  os.lease.release();
  pooled.lease.release();
  assert.deepEqual(
    fake.sessions.map((s) => s.target.ip),
    [null],
  );
  await clock.runUntil(dispatcher.close());
});

test('close cancels waiters, closes idle connections and refuses new work', async () => {
  const { clock, fake, dispatcher } = setup();
  const l = limits({ maxConnections: 1 });
  await clock.runUntil(deliver(dispatcher, l));
  const held = await dispatcher.acquire({ ip: IP, site: SITE, limits: l });
  const waiting = dispatcher.acquire({ ip: IP, site: SITE, limits: l });
  await flush();
  const closing = dispatcher.close();
  assert.deepEqual(await waiting, { kind: 'cancelled' });
  await clock.runUntil(closing);
  if (held.kind === 'granted') {
    assert.equal((await held.lease.send(MX, ENVELOPE, BODY)).kind, 'session_failed');
    held.lease.release();
  }
  assert.equal(fake.open, 0);
  const late = await dispatcher.acquire({ ip: IP, site: SITE, limits: l });
  assert.equal(late.kind === 'throttled' && late.reason, 'closed');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_EGRESS_LIMITS, type EgressLimits } from '../../../core/delivery/egress-limits.js';
import type { SmtpSendResult } from '../../../core/delivery/smtp-result.js';
import type { SessionFailure } from '../../../core/delivery/smtp-session-types.js';
import { type AcquireResult, createDispatcher, type Dispatcher } from '../../../egress/dispatcher.js';
import { createLocalSuspensionTable } from '../../../egress/routing/local-suspensions.js';
import { FakeClock, FakeSessions } from './fakes.js';

const SITE = 'mta5.am0.yahoodns.net';
const MX = { mxHost: 'mta5.am0.yahoodns.net', address: '192.0.2.1' };
const ENVELOPE = { mailFrom: 'bounces@example.com', recipients: ['a@yahoo.com'] };
const BODY = Buffer.from('Subject: hi\r\n\r\nhello\r\n');
const TS04 = {
  code: 421,
  enhanced: '4.7.0',
  text: '[TS04] Messages from 127.0.0.2 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
};
const TOO_MANY = {
  code: 421,
  enhanced: '4.7.0',
  text: 'Too many concurrent SMTP connections; try again later',
};

const refusedAtRcpt = (reply: typeof TS04): SmtpSendResult => ({
  kind: 'transaction',
  recipients: ENVELOPE.recipients.map((address) => ({ address, accepted: false, reply })),
  data: { kind: 'not_sent' },
  tls: null,
});
const refusedAtGreeting = (reply: typeof TS04): SessionFailure => ({
  kind: 'session_failed',
  phase: 'greeting',
  reply,
  detail: `${reply.code} ${reply.text}`,
});

function limits(over: Partial<EgressLimits> = {}): EgressLimits {
  return { ...DEFAULT_EGRESS_LIMITS, ...over };
}

function setup(behaviour: ConstructorParameters<typeof FakeSessions>[1]) {
  const clock = new FakeClock();
  clock.t = 1_700_000_000_000;
  const fake = new FakeSessions(clock, behaviour);
  const suspensions = createLocalSuspensionTable({ now: () => clock.now(), durationScale: 1 });
  const dispatcher = createDispatcher({ openSession: fake.openSession, clock, suspensions });
  return { clock, fake, dispatcher, suspensions };
}

async function deliver(d: Dispatcher, ip: string, l: EgressLimits): Promise<SmtpSendResult | AcquireResult> {
  const r = await d.acquire({ ip, site: SITE, limits: l, provider: 'yahoo' });
  if (r.kind !== 'granted') return r;
  try {
    return await r.lease.send(MX, ENVELOPE, BODY);
  } finally {
    r.lease.release();
  }
}

test('a [TS04] refusal suspends the IP for the provider at once: its queue is answered "suspended", not sent', async () => {
  // The receiver refuses 127.0.0.2 only, and takes a while to answer.
  const { clock, fake, dispatcher, suspensions } = setup({
    sendMs: 50,
    result: (s) => (s.target.ip === '127.0.0.2' ? refusedAtRcpt(TS04) : undefined),
  });
  const l = limits({ maxConnections: 3 });
  const on2 = Array.from({ length: 12 }, () => deliver(dispatcher, '127.0.0.2', l));
  const on3 = Array.from({ length: 4 }, () => deliver(dispatcher, '127.0.0.3', l));
  const results = await clock.runUntil(Promise.all([...on2, ...on3]));
  const from2 = results.slice(0, 12);
  const refused = from2.filter((r) => r.kind === 'transaction');
  const moved = from2.filter((r) => r.kind === 'suspended');
  // Only the three leases already sending when the first refusal came were refused.
  assert.equal(refused.length, 3);
  assert.equal(moved.length, 9);
  const s = moved[0]!.kind === 'suspended' ? moved[0]!.suspension : null;
  assert.deepEqual(
    { ip: s?.ip, provider: s?.provider, ruleId: s?.ruleId, reportedAtMs: s?.reportedAtMs },
    { ip: '127.0.0.2', provider: 'yahoo', ruleId: 'yahoo.ts04', reportedAtMs: null },
  );
  assert.equal(s!.untilMs - s!.sinceMs, 2 * 3_600_000, "the rule's duration");
  assert.ok(results.slice(12).every((r) => r.kind === 'transaction' && r.data.kind === 'accepted'));
  assert.equal(
    fake.sessions.filter((x) => x.target.ip === '127.0.0.2').reduce((n, x) => n + x.sends, 0),
    3,
  );
  // New deliveries from the IP to the provider are refused by the node itself, others go on.
  assert.equal(
    (await dispatcher.acquire({ ip: '127.0.0.2', site: SITE, limits: l, provider: 'yahoo' })).kind,
    'suspended',
  );
  const google = await dispatcher.acquire({
    ip: '127.0.0.2',
    site: 'gmail-smtp-in.l.google.com',
    limits: l,
    provider: 'google',
  });
  assert.equal(google.kind, 'granted');
  if (google.kind === 'granted') google.lease.release();
  assert.ok(suspensions.active('127.0.0.2', 'yahoo'));
  await clock.runUntil(dispatcher.close());
});

test('a refusal at the greeting suspends too; a refusal about the recipient does not', async () => {
  const { clock, dispatcher, suspensions } = setup({
    refuseWith: (target) => (target.ip === '127.0.0.2' ? refusedAtGreeting(TS04) : null),
    result: () => refusedAtRcpt({ code: 550, enhanced: '5.1.1', text: 'user unknown' }),
  });
  await clock.runUntil(deliver(dispatcher, '127.0.0.3', limits()));
  assert.equal(suspensions.active('127.0.0.3', 'yahoo'), null);
  await clock.runUntil(deliver(dispatcher, '127.0.0.2', limits()));
  assert.equal(suspensions.active('127.0.0.2', 'yahoo')?.ruleId, 'yahoo.ts04');
  await clock.runUntil(dispatcher.close());
});

test('"too many connections" halves the queue\'s connection limit once per window; successes bring it back', async () => {
  // The receiver refuses every session beyond 3 open at once, at the greeting.
  let congested = true;
  let peakWhenFree = 0;
  const { clock, dispatcher } = setup({
    sendMs: 20,
    closeMs: 1,
    refuseWith: (_target, open) => {
      if (!congested) peakWhenFree = Math.max(peakWhenFree, open);
      return congested && open > 3 ? refusedAtGreeting(TOO_MANY) : null;
    },
  });
  const l = limits({ maxConnections: 8, maxMessagesPerConnection: 1 });
  const first = await clock.runUntil(
    Promise.all(Array.from({ length: 40 }, () => deliver(dispatcher, '127.0.0.2', l))),
  );
  const refusedCount = first.filter((r) => r.kind === 'session_failed').length;
  assert.ok(refusedCount > 0, 'the receiver refused some sessions');
  const [afterBurst] = dispatcher.stats();
  assert.ok(afterBurst!.concurrency < 8, `lowered: ${afterBurst!.concurrency}`);
  assert.ok(afterBurst!.congestionDecreases >= 1);
  // Eight sessions heard "too many" at once in the first window: one halving, not eight.
  assert.ok(afterBurst!.congestionDecreases < refusedCount, JSON.stringify(afterBurst));
  assert.equal(afterBurst!.maxConnections, 8);
  assert.notEqual(afterBurst!.lastCongestionAt, null);

  // The receiver has room again: concurrency climbs back one connection per window.
  congested = false;
  const second = await clock.runUntil(
    Promise.all(Array.from({ length: 60 }, () => deliver(dispatcher, '127.0.0.2', l))),
  );
  assert.ok(second.every((r) => r.kind === 'transaction'));
  assert.equal(peakWhenFree, 8, 'back to the configured eight connections at once');
  // Recovered: nothing reduced is left (the queue itself is gone once its connections close).
  assert.ok(dispatcher.stats().every((r) => r.concurrency === 8 && r.congestionDecreases === 0));
  await clock.runUntil(dispatcher.close());
});

test('after a decrease the queue opens no more connections than the lowered limit', async () => {
  let refuseNext = 1;
  let sends = 0;
  let peakBeforeIncrease = 0;
  const { clock, fake, dispatcher } = setup({
    sendMs: 100,
    closeMs: 1,
    refuseWith: () => (refuseNext-- > 0 ? refusedAtGreeting(TOO_MANY) : null),
    result: () => {
      // Until the lowered limit's first window of successes is complete, nothing may grow.
      if (++sends <= 4) peakBeforeIncrease = Math.max(peakBeforeIncrease, fake.open);
      return undefined;
    },
  });
  const l = limits({ maxConnections: 8, maxMessagesPerConnection: 1 });
  await clock.runUntil(deliver(dispatcher, '127.0.0.2', l));
  assert.equal(dispatcher.stats()[0]!.concurrency, 4);
  const all = await clock.runUntil(
    Promise.all(Array.from({ length: 16 }, () => deliver(dispatcher, '127.0.0.2', l))),
  );
  assert.ok(all.every((r) => r.kind === 'transaction'));
  assert.equal(peakBeforeIncrease, 4, 'four sessions at once under the lowered limit of four');
  assert.ok(dispatcher.stats()[0]!.concurrency > 4, 'and it grew back with the successes');
  await clock.runUntil(dispatcher.close());
});

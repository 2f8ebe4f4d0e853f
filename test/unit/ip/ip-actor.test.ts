import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSmtpReply } from '../../../core/delivery/smtp-reply.js';
import {
  applyControl,
  applyOutcomes,
  type IpState,
  initialIpState,
  nextWakeMs,
  routeStateOf,
  stateSize,
  tick,
} from '../../../core/routing/ip-actor.js';
import type { NotableReply, OutcomeSummary, ProviderOutcomes } from '../../../core/routing/ip-actor-types.js';
import { WINDOW_MS } from '../../../core/routing/reputation.js';
import { DEFAULT_WARMUP_PLAN } from '../../../core/routing/warmup.js';

const IP = '192.0.2.10';
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const TSS04 =
  '421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command))';

function reply(line: string): NotableReply {
  return parseSmtpReply(line)!;
}

function outcomes(over: Partial<ProviderOutcomes> = {}): ProviderOutcomes {
  return { delivered: 0, deferred: 0, bounced: 0, complaints: 0, notable: [], ...over };
}

function summary(byProvider: Record<string, ProviderOutcomes>, atMs: number): OutcomeSummary {
  return { ip: IP, windowStartMs: atMs - 5000, windowEndMs: atMs, byProvider };
}

const warm = (nowMs = T0): IpState => initialIpState(IP, { warm: true, nowMs });

test('a Yahoo TSS04 reply suspends the IP for Yahoo for 2 h, other providers unaffected', () => {
  const { state, fired } = applyOutcomes(
    warm(),
    summary(
      { yahoo: outcomes({ deferred: 1, notable: [reply(TSS04)] }), google: outcomes({ delivered: 40 }) },
      T0,
    ),
    T0,
  );
  assert.deepEqual(fired, [
    {
      ruleId: 'yahoo.ts04',
      provider: 'yahoo',
      effect: { kind: 'suspend', durationMs: 2 * HOUR },
      untilMs: T0 + 2 * HOUR,
    },
  ]);
  const route = routeStateOf(state, T0);
  assert.deepEqual(route.suspended, { yahoo: { untilMs: T0 + 2 * HOUR, reason: 'yahoo.ts04' } });
  assert.equal(route.weight, 100);
  assert.equal(route.paused, null);
  assert.equal(nextWakeMs(state, T0), T0 + 2 * HOUR);
});

test('a second match extends the suspension; tick after expiry lifts it', () => {
  const first = applyOutcomes(
    warm(),
    summary({ yahoo: outcomes({ notable: [reply(TSS04)] }) }, T0),
    T0,
  ).state;
  const later = T0 + 30 * 60_000;
  const second = applyOutcomes(
    first,
    summary({ yahoo: outcomes({ notable: [reply(TSS04)] }) }, later),
    later,
  ).state;
  assert.equal(routeStateOf(second, later).suspended.yahoo?.untilMs, later + 2 * HOUR);
  assert.equal(second.effects['yahoo.ts04|yahoo']?.matches, 2);
  assert.equal(second.effects['yahoo.ts04|yahoo']?.sinceMs, T0);

  const end = later + 2 * HOUR;
  // Route state already ignores what expired; tick removes it from the state.
  assert.deepEqual(routeStateOf(second, end).suspended, {});
  const ticked = tick(second, end);
  assert.deepEqual(ticked.effects, {});
  assert.equal(nextWakeMs(ticked, end), null);
});

test('a bounce rate over threshold lowers the weight for that provider, and recovers when healthy', () => {
  let s = warm();
  const bad = applyOutcomes(s, summary({ google: outcomes({ delivered: 90, bounced: 10 }) }, T0), T0);
  assert.deepEqual(
    bad.fired.map((f) => f.ruleId),
    ['rate.bounce'],
  );
  s = bad.state;
  let route = routeStateOf(s, T0);
  assert.deepEqual(route.weightFactors, { google: 0.5 });
  assert.equal(route.weight, 100);
  // Re-evaluation while still bad does not fire again.
  const again = applyOutcomes(s, summary({ google: outcomes({ delivered: 1 }) }, T0 + 1000), T0 + 1000);
  assert.deepEqual(again.fired, []);
  // Good traffic dilutes the windowed rate below 5 %: the effect goes at once.
  s = applyOutcomes(
    again.state,
    summary({ google: outcomes({ delivered: 200 }) }, T0 + 2000),
    T0 + 2000,
  ).state;
  route = routeStateOf(s, T0 + 2000);
  assert.deepEqual(route.weightFactors, {});

  // Or with no traffic at all, once the bad bucket leaves the window.
  const idle = bad.state;
  assert.ok(nextWakeMs(idle, T0)! <= T0 + WINDOW_MS);
  const rolled = tick(idle, T0 + WINDOW_MS);
  assert.deepEqual(routeStateOf(rolled, T0 + WINDOW_MS).weightFactors, {});
  assert.deepEqual(rolled.windows, {});
});

test('pause and resume the whole IP, and one provider with an expiry', () => {
  const paused = applyControl(
    warm(),
    { kind: 'pause', provider: null, untilMs: null, reason: 'abuse report', actor: 'ops@x' },
    T0,
  );
  let route = routeStateOf(paused, T0);
  assert.equal(route.weight, 0);
  assert.deepEqual(route.paused, { untilMs: null, reason: 'paused by ops@x: abuse report' });
  const resumed = applyControl(
    paused,
    { kind: 'resume', provider: null, reason: 'done', actor: 'ops@x' },
    T0 + 1,
  );
  route = routeStateOf(resumed, T0 + 1);
  assert.equal(route.weight, 100);
  assert.equal(route.paused, null);

  const forYahoo = applyControl(
    warm(),
    { kind: 'pause', provider: 'yahoo', untilMs: T0 + HOUR, reason: 'test', actor: 'ops@x' },
    T0,
  );
  assert.deepEqual(routeStateOf(forYahoo, T0).suspended, {
    yahoo: { untilMs: T0 + HOUR, reason: 'paused by ops@x: test' },
  });
  assert.equal(nextWakeMs(forYahoo, T0), T0 + HOUR);
  const expired = tick(forYahoo, T0 + HOUR);
  assert.deepEqual(expired.providerPauses, {});
  assert.deepEqual(routeStateOf(expired, T0 + HOUR).suspended, {});
});

test('resuming a provider lifts the reply rules for it; a new match puts them back', () => {
  const suspended = applyOutcomes(
    warm(),
    summary({ yahoo: outcomes({ notable: [reply(TSS04)] }) }, T0),
    T0,
  ).state;
  const resumed = applyControl(
    suspended,
    { kind: 'resume', provider: 'yahoo', reason: 'checked', actor: 'ops@x' },
    T0 + 1,
  );
  assert.deepEqual(routeStateOf(resumed, T0 + 1).suspended, {});
  const again = applyOutcomes(
    resumed,
    summary({ yahoo: outcomes({ notable: [reply(TSS04)] }) }, T0 + 2),
    T0 + 2,
  ).state;
  assert.equal(routeStateOf(again, T0 + 2).suspended.yahoo?.reason, 'yahoo.ts04');
});

test('a suspension suggested by a receiver of "other" becomes a smaller share, not a stop', () => {
  const spamhaus = reply(
    '554 5.7.1 Service unavailable; Client host [11.22.33.44] blocked using sbl-xbl.spamhaus.org; https://www.spamhaus.org/query/ip/11.22.33.44',
  );
  const s = applyOutcomes(
    warm(),
    summary({ other: outcomes({ bounced: 1, notable: [spamhaus] }) }, T0),
    T0,
  ).state;
  const route = routeStateOf(s, T0);
  assert.deepEqual(route.suspended, {});
  assert.deepEqual(route.weightFactors, { other: 0.25 });
});

test('throttles are published per provider', () => {
  const line =
    '451 4.7.650 The mail server [192.0.2.5] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775) [***.prod.protection.outlook.com] (in reply to MAIL FROM command))';
  const s = applyOutcomes(
    warm(),
    summary({ microsoft: outcomes({ deferred: 1, notable: [reply(line)] }) }, T0),
    T0,
  ).state;
  assert.deepEqual(routeStateOf(s, T0).throttled, {
    microsoft: { untilMs: T0 + HOUR, reason: 'microsoft.4.7.650-reputation-throttle' },
  });
});

test('the warmup day advances only while the IP is healthy; a warm IP has no caps', () => {
  const dayMs = 10_000;
  let s = initialIpState(IP, { warm: false, nowMs: T0, dayMs });
  let route = routeStateOf(s, T0);
  assert.equal(route.warmupDay, 1);
  assert.deepEqual(route.caps, DEFAULT_WARMUP_PLAN.steps[0]?.caps);
  assert.equal(nextWakeMs(s, T0), T0 + dayMs);

  s = applyOutcomes(s, summary({ google: outcomes({ delivered: 120 }) }, T0 + 1000), T0 + 1000).state;
  assert.equal(tick(s, T0 + dayMs - 1).warmup?.day, 1);
  s = tick(s, T0 + dayMs);
  assert.equal(s.warmup?.day, 2);

  // Day 2 goes badly: 20 % bounces. The day is held, and re-checked soon after.
  s = applyOutcomes(
    s,
    summary({ google: outcomes({ delivered: 400, bounced: 200 }) }, T0 + 11_000),
    T0 + 11_000,
  ).state;
  s = tick(s, T0 + 2 * dayMs);
  assert.equal(s.warmup?.day, 2);
  assert.ok(nextWakeMs(s, T0 + 2 * dayMs)! > T0 + 2 * dayMs);
  // Once the bad hour has left the window and the IP sends cleanly, it moves on.
  const later = T0 + 2 * dayMs + WINDOW_MS;
  s = applyOutcomes(s, summary({ google: outcomes({ delivered: 300 }) }, later), later).state;
  s = tick(s, later);
  assert.equal(s.warmup?.day, 3);

  const warmIp = warm();
  route = routeStateOf(warmIp, T0);
  assert.equal(route.caps, null);
  assert.equal(route.warmupDay, null);
  assert.equal(nextWakeMs(warmIp, T0), null);
});

test('state is plain JSON: a round trip gives the same state', () => {
  let s = initialIpState(IP, { warm: false, nowMs: T0, dayMs: 60_000 });
  s = applyOutcomes(
    s,
    summary(
      {
        yahoo: outcomes({ deferred: 3, notable: [reply(TSS04)] }),
        google: outcomes({ delivered: 90, bounced: 10 }),
      },
      T0,
    ),
    T0,
  ).state;
  s = applyControl(s, { kind: 'pause', provider: 'orange', untilMs: T0 + HOUR, reason: 'r', actor: 'a' }, T0);
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  const route = routeStateOf(s, T0);
  assert.deepEqual(JSON.parse(JSON.stringify(route)), route);
});

test('state stays small after 10,000 summaries', () => {
  let s = initialIpState(IP, { warm: false, nowMs: T0, dayMs: 3_600_000 });
  const tsS01 = reply(
    '421 4.7.0 [TS01] Messages from 67.228.50.54 temporarily deferred due to user complaints - 4.16.55.1; see http://postmaster.yahoo.com/421-ts01.html',
  );
  const unrelated = reply('550 5.1.1 The email account that you tried to reach does not exist.');
  let now = T0;
  for (let i = 0; i < 10_000; i++) {
    now += 3000;
    const byProvider: Record<string, ProviderOutcomes> = {
      google: outcomes({ delivered: 50, bounced: i % 7, notable: [unrelated] }),
      microsoft: outcomes({ delivered: 30, deferred: 2 }),
      yahoo: outcomes({ delivered: 20, deferred: 1, notable: i % 50 === 0 ? [tsS01, reply(TSS04)] : [] }),
      other: outcomes({ delivered: 80, bounced: 3, complaints: i % 100 === 0 ? 1 : 0 }),
    };
    s = applyOutcomes(s, summary(byProvider, now), now).state;
    if (i % 100 === 0) s = tick(s, now);
  }
  const size = stateSize(s);
  assert.ok(size < 16_000, `state is ${size} characters`);
  for (const buckets of Object.values(s.windows)) assert.ok(buckets.length <= 12);
  assert.ok(Object.keys(s.effects).length <= 4);
});

test('a summary for another IP changes nothing', () => {
  const s = warm();
  const other = { ...summary({ yahoo: outcomes({ notable: [reply(TSS04)] }) }, T0), ip: '192.0.2.99' };
  assert.deepEqual(applyOutcomes(s, other, T0), { state: s, fired: [] });
});

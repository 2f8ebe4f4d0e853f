import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IpRouteState } from '../../../core/routing/ip-actor-types.js';
import {
  chooseIp,
  FALLBACK_WAIT_MS,
  type RouteCandidate,
  usagePeriodStart,
} from '../../../core/routing/routing.js';

const NOW = 1_700_000_123_456;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** mulberry32: a small seeded PRNG, so statistical tests are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function route(ip: string, over: Partial<IpRouteState> = {}): IpRouteState {
  return {
    version: 1,
    ip,
    weight: 100,
    paused: null,
    suspended: {},
    caps: null,
    warmupDay: null,
    asOfMs: NOW,
    ...over,
  };
}

function candidate(
  ip: string,
  over: Partial<IpRouteState> = {},
  usage = { today: 0, thisHour: 0 },
): RouteCandidate {
  return { ip, route: route(ip, over), usage };
}

const warmingCaps = { '*': { daily: 150, hourly: 20 } };

function counts(cands: RouteCandidate[], n: number, provider = 'google', seed = 42) {
  const random = seeded(seed);
  const byIp = new Map<string, number>();
  let overflow = 0;
  for (let i = 0; i < n; i++) {
    const c = chooseIp({ candidates: cands, provider, preferredIp: null, nowMs: NOW, random });
    assert.equal(c.kind, 'ip');
    if (c.kind !== 'ip') continue;
    byIp.set(c.ip, (byIp.get(c.ip) ?? 0) + 1);
    if (c.overflow) overflow++;
  }
  return { byIp, overflow };
}

test('weights are respected', () => {
  const n = 20_000;
  const { byIp, overflow } = counts([candidate('a', { weight: 100 }), candidate('b', { weight: 300 })], n);
  assert.ok(Math.abs(byIp.get('a')! / n - 0.25) < 0.015, `a got ${byIp.get('a')}`);
  assert.ok(Math.abs(byIp.get('b')! / n - 0.75) < 0.015, `b got ${byIp.get('b')}`);
  assert.equal(overflow, 0);
});

test('per-provider weight factors and throttles shift traffic for that provider only', () => {
  const n = 20_000;
  const cands = [
    candidate('a', { weightFactors: { yahoo: 0.5 } }),
    candidate('b', { throttled: { microsoft: { untilMs: NOW + HOUR, reason: 'microsoft.rate-limited' } } }),
  ];
  const yahoo = counts(cands, n, 'yahoo').byIp;
  assert.ok(Math.abs(yahoo.get('a')! / n - 1 / 3) < 0.015);
  const microsoft = counts(cands, n, 'microsoft').byIp;
  assert.ok(Math.abs(microsoft.get('b')! / n - 0.2) < 0.015);
  const google = counts(cands, n, 'google').byIp;
  assert.ok(Math.abs(google.get('a')! / n - 0.5) < 0.015);
});

test('the preferred IP is kept while eligible (retries, greylisting)', () => {
  const cands = [candidate('a', { weight: 1 }), candidate('b', { weight: 1000 })];
  const random = seeded(1);
  for (let i = 0; i < 100; i++) {
    assert.deepEqual(
      chooseIp({ candidates: cands, provider: 'google', preferredIp: 'a', nowMs: NOW, random }),
      {
        kind: 'ip',
        ip: 'a',
        overflow: false,
      },
    );
  }
  const suspendedA = [
    candidate('a', { suspended: { google: { untilMs: NOW + HOUR, reason: 'google.ip-blocked' } } }),
    candidate('b'),
  ];
  assert.deepEqual(
    chooseIp({ candidates: suspendedA, provider: 'google', preferredIp: 'a', nowMs: NOW, random }),
    {
      kind: 'ip',
      ip: 'b',
      overflow: false,
    },
  );
});

test('suspended, paused and zero-weight IPs are excluded; expired effects are not', () => {
  const cands = [
    candidate('suspended', { suspended: { yahoo: { untilMs: NOW + HOUR, reason: 'yahoo.ts04' } } }),
    candidate('paused', { weight: 0, paused: { untilMs: null, reason: 'ops' } }),
    candidate('zero', { weight: 0 }),
    candidate('expired', { suspended: { yahoo: { untilMs: NOW, reason: 'yahoo.ts04' } } }),
    candidate('other-provider', { suspended: { google: { untilMs: null, reason: 'ops' } } }),
  ];
  const { byIp } = counts(cands, 2_000, 'yahoo');
  assert.deepEqual([...byIp.keys()].sort(), ['expired', 'other-provider']);
});

test('a warming IP at its cap overflows to the warm IPs', () => {
  const n = 20_000;
  const capped = candidate('warming', { caps: warmingCaps, warmupDay: 1 }, { today: 40, thisHour: 20 });
  const { byIp, overflow } = counts([capped, candidate('warm')], n);
  assert.equal(byIp.get('warming'), undefined);
  assert.equal(byIp.get('warm'), n);
  // The capped IP's share (half the weight) is what overflowed.
  assert.ok(Math.abs(overflow / n - 0.5) < 0.015, `overflow ${overflow}`);

  const sticky = chooseIp({
    candidates: [capped, candidate('warm')],
    provider: 'google',
    preferredIp: 'warming',
    nowMs: NOW,
    random: seeded(3),
  });
  assert.deepEqual(sticky, { kind: 'ip', ip: 'warm', overflow: true });

  // Under its caps, the warming IP takes its share.
  const under = candidate('warming', { caps: warmingCaps, warmupDay: 1 }, { today: 40, thisHour: 19 });
  const shared = counts([under, candidate('warm')], n);
  assert.ok(Math.abs(shared.byIp.get('warming')! / n - 0.5) < 0.015);
  assert.equal(shared.overflow, 0);
});

test('provider caps apply per provider, "*" for the rest', () => {
  const caps = { yahoo: { daily: 10, hourly: 5 }, '*': { daily: 1000, hourly: 100 } };
  const c = candidate('warming', { caps, warmupDay: 1 }, { today: 10, thisHour: 0 });
  assert.equal(
    chooseIp({ candidates: [c], provider: 'yahoo', preferredIp: null, nowMs: NOW, random: seeded(1) }).kind,
    'wait',
  );
  assert.equal(
    chooseIp({ candidates: [c], provider: 'google', preferredIp: null, nowMs: NOW, random: seeded(1) }).kind,
    'ip',
  );
});

test('no eligible IP: wait until the soonest change, with a reason', () => {
  const cands = [
    candidate('192.0.2.1', { suspended: { yahoo: { untilMs: NOW + 2 * HOUR, reason: 'yahoo.ts04' } } }),
    candidate('192.0.2.2', { suspended: { yahoo: { untilMs: NOW + HOUR, reason: 'yahoo.ts04' } } }),
  ];
  const w = chooseIp({
    candidates: cands,
    provider: 'yahoo',
    preferredIp: '192.0.2.1',
    nowMs: NOW,
    random: seeded(1),
    pool: 'shared-marketing',
  });
  assert.equal(w.kind, 'wait');
  if (w.kind !== 'wait') return;
  assert.equal(w.retryAfterMs, HOUR);
  assert.equal(w.retryAtMs, NOW + HOUR);
  assert.match(w.reason, /all IPs of pool shared-marketing are unavailable for yahoo/);
  assert.match(w.reason, /192\.0\.2\.2 suspended for yahoo until .*yahoo\.ts04/);
});

test('caps wait for the next hour or day period; every block must lift', () => {
  const hourly = candidate('w', { caps: warmingCaps, warmupDay: 1 }, { today: 100, thisHour: 20 });
  const w1 = chooseIp({
    candidates: [hourly],
    provider: 'google',
    preferredIp: null,
    nowMs: NOW,
    random: seeded(1),
  });
  assert.equal(w1.kind === 'wait' && w1.retryAtMs, usagePeriodStart(NOW, HOUR) + HOUR);

  const daily = candidate('w', { caps: warmingCaps, warmupDay: 1 }, { today: 150, thisHour: 3 });
  const w2 = chooseIp({
    candidates: [daily],
    provider: 'google',
    preferredIp: null,
    nowMs: NOW,
    random: seeded(1),
  });
  assert.equal(w2.kind === 'wait' && w2.retryAtMs, usagePeriodStart(NOW, DAY) + DAY);
  assert.match(w2.kind === 'wait' ? w2.reason : '', /warmup cap of 150\/day for google/);

  // Short test periods are passed in.
  const w3 = chooseIp({
    candidates: [hourly],
    provider: 'google',
    preferredIp: null,
    nowMs: NOW,
    random: seeded(1),
    hourMs: 10_000,
  });
  assert.equal(w3.kind === 'wait' && w3.retryAtMs, usagePeriodStart(NOW, 10_000) + 10_000);

  // Suspended until later than the cap resets: the later one counts.
  const both = candidate(
    'w',
    {
      caps: warmingCaps,
      warmupDay: 1,
      suspended: { google: { untilMs: NOW + 3 * HOUR, reason: 'google.ip-blocked' } },
    },
    { today: 0, thisHour: 20 },
  );
  const w4 = chooseIp({
    candidates: [both],
    provider: 'google',
    preferredIp: null,
    nowMs: NOW,
    random: seeded(1),
  });
  assert.equal(w4.kind === 'wait' && w4.retryAtMs, NOW + 3 * HOUR);
});

test('nothing will change by the clock: wait the fallback, retryAtMs null', () => {
  const cands = [candidate('a', { weight: 0, paused: { untilMs: null, reason: 'paused by ops: abuse' } })];
  assert.deepEqual(
    chooseIp({
      candidates: cands,
      provider: 'google',
      preferredIp: null,
      nowMs: NOW,
      random: seeded(1),
      pool: 'p',
    }),
    {
      kind: 'wait',
      reason:
        'all IPs of pool p are unavailable for google: a paused until resumed (paused by ops: abuse), weight 0; no change expected until an operator acts',
      retryAfterMs: FALLBACK_WAIT_MS,
      retryAtMs: null,
    },
  );
  const empty = chooseIp({
    candidates: [],
    provider: 'google',
    preferredIp: null,
    nowMs: NOW,
    random: seeded(1),
    pool: 'p',
  });
  assert.deepEqual(empty, {
    kind: 'wait',
    reason: 'pool p has no IPs',
    retryAfterMs: FALLBACK_WAIT_MS,
    retryAtMs: null,
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutcomeCounts } from '../../../core/routing/reputation.js';
import {
  capFor,
  capsForDay,
  DEFAULT_WARMUP_PLAN,
  nextWarmupDay,
  type WarmupPlan,
  type WarmupState,
} from '../../../core/routing/warmup.js';
import { parseWarmupPlan } from '../../../core/routing/warmup-plan.js';

const healthy: OutcomeCounts = { delivered: 990, deferred: 5, bounced: 5, complaints: 0 };

function state(over: Partial<WarmupState> = {}): WarmupState {
  return { plan: DEFAULT_WARMUP_PLAN, day: 1, dayStartedMs: 0, dayMs: 10_000, attemptsThisDay: 50, ...over };
}

test('the default plan is valid, starts small, grows, and ends warm', () => {
  assert.deepEqual(parseWarmupPlan(DEFAULT_WARMUP_PLAN), { ok: true, plan: DEFAULT_WARMUP_PLAN });
  const day1 = capsForDay(DEFAULT_WARMUP_PLAN, 1)!;
  assert.deepEqual(capFor(day1, 'google'), { daily: 150, hourly: 20 });
  assert.deepEqual(capFor(day1, 'fastmail'), capFor(day1, '*'));
  assert.ok(capFor(day1, 'other')!.daily > capFor(day1, 'google')!.daily);
  // Day 6 still uses the step that starts on day 5.
  assert.deepEqual(capsForDay(DEFAULT_WARMUP_PLAN, 6), capsForDay(DEFAULT_WARMUP_PLAN, 5));
  let previous = 0;
  for (let day = 1; day < DEFAULT_WARMUP_PLAN.warmFromDay; day++) {
    const cap = capFor(capsForDay(DEFAULT_WARMUP_PLAN, day)!, 'yahoo')!;
    assert.ok(cap.daily >= previous, `day ${day}`);
    assert.ok(cap.hourly * 8 <= cap.daily * 1.1, `day ${day}: hourly spreads the day`);
    previous = cap.daily;
  }
  assert.equal(capsForDay(DEFAULT_WARMUP_PLAN, 30) === null, false);
  assert.equal(capsForDay(DEFAULT_WARMUP_PLAN, 31), null);
});

test('plan validation reports every problem at once', () => {
  const bad = {
    version: 1,
    name: 'bad',
    steps: [
      { fromDay: 2, caps: { google: { daily: 10, hourly: 20 } } },
      { fromDay: 2, caps: { '*': { daily: 10, hourly: 5 } } },
    ],
    warmFromDay: 2,
  };
  const r = parseWarmupPlan(bad);
  assert.equal(r.ok, false);
  if (r.ok) return;
  const text = r.problems.join('\n');
  assert.match(text, /hourly cap exceeds the daily cap/);
  assert.match(text, /every step needs a "\*" line/);
  assert.match(text, /first step must start on day 1/);
  assert.match(text, /ascending day order/);
  assert.match(text, /warmFromDay must come after the last step/);
  assert.equal(parseWarmupPlan({ version: 2 }).ok, false);
});

test('an overriding plan applies its own caps', () => {
  const plan: WarmupPlan = {
    version: 1,
    name: 'gentle',
    steps: [{ fromDay: 1, caps: { '*': { daily: 10, hourly: 2 }, yahoo: { daily: 5, hourly: 1 } } }],
    warmFromDay: 3,
  };
  assert.equal(parseWarmupPlan(plan).ok, true);
  assert.deepEqual(capFor(capsForDay(plan, 2)!, 'yahoo'), { daily: 5, hourly: 1 });
  assert.equal(capsForDay(plan, 3), null);
});

test('the day advances only once a day has passed and the IP is healthy', () => {
  assert.deepEqual(nextWarmupDay(state(), healthy, 9_999).decision, { kind: 'not_due', dueMs: 10_000 });
  const advanced = nextWarmupDay(state(), healthy, 10_000);
  assert.deepEqual(advanced.decision, { kind: 'advanced', day: 2 });
  assert.deepEqual(advanced.state, state({ day: 2, dayStartedMs: 10_000, attemptsThisDay: 0 }));
});

test('bad bounce, complaint or deferral rates hold the day', () => {
  const bounces = { delivered: 900, deferred: 0, bounced: 100, complaints: 0 };
  assert.deepEqual(nextWarmupDay(state(), bounces, 10_000).decision, {
    kind: 'held',
    reasons: ['bounce_rate'],
  });
  const complaints = { delivered: 1000, deferred: 0, bounced: 0, complaints: 2 };
  assert.deepEqual(nextWarmupDay(state(), complaints, 10_000).decision, {
    kind: 'held',
    reasons: ['complaint_rate'],
  });
  const deferrals = { delivered: 700, deferred: 300, bounced: 0, complaints: 0 };
  assert.deepEqual(nextWarmupDay(state(), deferrals, 10_000).decision, {
    kind: 'held',
    reasons: ['deferral_rate'],
  });
  // A held day keeps its state, so it is re-checked and advances once healthy again.
  assert.deepEqual(nextWarmupDay(state(), bounces, 10_000).state, state());
  assert.equal(nextWarmupDay(state(), healthy, 12_000).decision.kind, 'advanced');
});

test('a few bad outcomes prove nothing; an idle day earns nothing', () => {
  const tiny = { delivered: 5, deferred: 2, bounced: 3, complaints: 1 };
  assert.equal(nextWarmupDay(state(), tiny, 10_000).decision.kind, 'advanced');
  assert.deepEqual(nextWarmupDay(state({ attemptsThisDay: 0 }), healthy, 10_000).decision, {
    kind: 'held',
    reasons: ['no_traffic'],
  });
});

test('the last day of the plan leads to warm', () => {
  const last = state({ day: DEFAULT_WARMUP_PLAN.warmFromDay - 1 });
  assert.deepEqual(nextWarmupDay(last, healthy, 10_000), { state: null, decision: { kind: 'warm' } });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AIMD_FORGET_MS,
  type AimdState,
  aimdCongested,
  aimdLimits,
  aimdRecovered,
  aimdStale,
  aimdStart,
  aimdSucceeded,
} from '../../../core/delivery/aimd.js';
import { DEFAULT_EGRESS_LIMITS, type EgressLimits } from '../../../core/delivery/egress-limits.js';

const LIMITS: EgressLimits = {
  ...DEFAULT_EGRESS_LIMITS,
  maxConnections: 10,
  messageRate: { count: 300, periodMs: 60_000, burst: 20 },
  connectionRate: { count: 60, periodMs: 60_000, burst: 1 },
};

test('congestion halves the connection limit and the rates; never below one connection or one cell', () => {
  let s = aimdStart(LIMITS, 0);
  assert.deepEqual(aimdLimits(s, LIMITS), LIMITS, 'a fresh state is the configured limits');
  s = aimdCongested(s, LIMITS, s.epoch, 1);
  const once = aimdLimits(s, LIMITS);
  assert.equal(once.maxConnections, 5);
  assert.deepEqual(once.messageRate, { count: 150, periodMs: 60_000, burst: 10 });
  assert.deepEqual(once.connectionRate, { count: 30, periodMs: 60_000, burst: 1 });
  assert.equal(once.maxMessagesPerConnection, LIMITS.maxMessagesPerConnection, 'other limits untouched');
  for (let i = 0; i < 20; i++) s = aimdCongested(s, LIMITS, s.epoch, 2 + i);
  const floor = aimdLimits(s, LIMITS);
  assert.equal(floor.maxConnections, 1);
  assert.ok(floor.messageRate!.count >= 1 && floor.messageRate!.burst >= 1);
  assert.equal(s.decreases, 21);
  assert.equal(s.lastDecreaseMs, 21);
});

test('one decrease per window: leases granted before the last decrease do not halve again', () => {
  const start = aimdStart(LIMITS, 0);
  const grantedAt = start.epoch;
  let s = start;
  // Ten sessions opened under the old limit all hear "too many connections".
  for (let i = 0; i < 10; i++) s = aimdCongested(s, LIMITS, grantedAt, i);
  assert.equal(s.concurrency, 5);
  assert.equal(s.decreases, 1);
  // A lease granted after the decrease that is refused again halves again.
  s = aimdCongested(s, LIMITS, s.epoch, 20);
  assert.equal(s.concurrency, 2);
});

test('successes give back one connection per window of successes, up to the configured limit', () => {
  let s: AimdState = aimdCongested(aimdStart(LIMITS, 0), LIMITS, 0, 0);
  s = aimdCongested(s, LIMITS, s.epoch, 0);
  assert.equal(s.concurrency, 2);
  const steps: number[] = [];
  let successes = 0;
  while (!aimdRecovered(s, LIMITS)) {
    s = aimdSucceeded(s, LIMITS, 1);
    successes++;
    if (steps.at(-1) !== s.concurrency) steps.push(s.concurrency);
    assert.ok(successes < 1_000, 'recovers');
  }
  // Additive: 2 → 3 after 2 successes, → 4 after 3 more, … one connection at a time.
  assert.deepEqual(steps, [2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(s.rateFactor, 1);
  assert.deepEqual(aimdLimits(s, LIMITS), LIMITS);
  s = aimdSucceeded(s, LIMITS, 2);
  assert.equal(s.concurrency, 10, 'never past the configured limit');
});

test('a lower configured limit caps the state at once; no rate configured means only connections adapt', () => {
  const noRate = { ...LIMITS, messageRate: null, connectionRate: null };
  const s = aimdCongested(aimdStart(noRate, 0), noRate, 0, 0);
  assert.equal(aimdLimits(s, noRate).messageRate, null);
  assert.equal(aimdLimits(s, { ...noRate, maxConnections: 3 }).maxConnections, 3);
  assert.equal(aimdLimits(undefined, noRate), noRate);
});

test('a reduced state untouched for AIMD_FORGET_MS is stale', () => {
  const s = aimdCongested(aimdStart(LIMITS, 0), LIMITS, 0, 1_000);
  assert.equal(aimdStale(s, 1_000 + AIMD_FORGET_MS - 1), false);
  assert.equal(aimdStale(s, 1_000 + AIMD_FORGET_MS), true);
});

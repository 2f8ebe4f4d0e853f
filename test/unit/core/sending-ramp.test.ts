import assert from 'node:assert/strict';
import { test } from 'node:test';
import { limitsOf, quotaMessage, utcDay, utcMonth } from '../../../core/limits/quota.js';
import { nextRampStep, type RampPolicy } from '../../../core/limits/ramp.js';

const policy: RampPolicy = { startPerDay: 100, maxPerDay: 1000, hardBounceRate: 0.05, complaintRate: 0.003 };
const day = (sent: number, hardBounced = 0, complained = 0) => ({
  accepted: sent,
  sent,
  hardBounced,
  complained,
});

test('a clean day that used at least half the cap doubles it', () => {
  assert.deepEqual(nextRampStep(100, day(50), policy), { kind: 'grow', cap: 200 });
  assert.deepEqual(nextRampStep(200, day(200, 4, 0), policy), { kind: 'grow', cap: 400 });
});

test('a day with little real volume keeps the cap: asking is not sending', () => {
  assert.deepEqual(nextRampStep(100, day(49), policy), { kind: 'hold', why: 'little_volume' });
  assert.deepEqual(nextRampStep(100, { accepted: 100, sent: 0, hardBounced: 0, complained: 0 }, policy), {
    kind: 'hold',
    why: 'little_volume',
  });
});

test('bounces or complaints at half their threshold or more keep the cap', () => {
  // 2.5 % hard bounces is half of 5 %.
  assert.deepEqual(nextRampStep(200, day(200, 5), policy), { kind: 'hold', why: 'bounces' });
  // 0.15 % complaints is half of 0.3 %.
  assert.deepEqual(nextRampStep(2000, day(2000, 0, 3), { ...policy, maxPerDay: 100_000 }), {
    kind: 'hold',
    why: 'complaints',
  });
});

test('the ramp ends when the doubled cap would reach the maximum', () => {
  assert.deepEqual(nextRampStep(400, day(400), policy), { kind: 'grow', cap: 800 });
  assert.deepEqual(nextRampStep(800, day(800), policy), { kind: 'done' });
  assert.deepEqual(nextRampStep(500, day(500), policy), { kind: 'done' });
});

test('the day cap is the tighter of quota and ramp, and the message says which', () => {
  assert.deepEqual(limitsOf({ dailyQuota: null, monthlyQuota: null, rampCap: null }), {
    daily: null,
    monthly: null,
  });
  const ramping = limitsOf({ dailyQuota: 1000, monthlyQuota: 20_000, rampCap: 100 });
  assert.deepEqual(ramping, { daily: { limit: 100, source: 'ramp' }, monthly: 20_000 });
  assert.match(quotaMessage('daily', ramping).message, /ramps up it may send to 100 recipients a day/);
  assert.deepEqual(limitsOf({ dailyQuota: 50, monthlyQuota: null, rampCap: 100 }).daily, {
    limit: 50,
    source: 'quota',
  });
  assert.deepEqual(quotaMessage('monthly', ramping), {
    name: 'monthly_quota_exceeded',
    message: 'You have reached your monthly email sending quota.',
  });
  assert.equal(
    quotaMessage('daily', limitsOf({ dailyQuota: 5, monthlyQuota: null, rampCap: null })).name,
    'daily_quota_exceeded',
  );
});

test('periods are UTC days and months', () => {
  const t = Date.UTC(2026, 11, 31, 23, 59, 59);
  assert.equal(utcDay(t) + 1, utcDay(Date.UTC(2027, 0, 1)));
  assert.equal(utcMonth(t), (2026 - 1970) * 12 + 11);
  assert.equal(utcMonth(Date.UTC(2027, 0, 1)), utcMonth(t) + 1);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_SAFETY_THRESHOLDS,
  type DomainWindow,
  decideAutoPauses,
  judgeWindow,
  refusingPause,
  TRUST_AND_SAFETY_ACTOR,
} from '../../../core/limits/safety.js';
import type { Pause } from '../../../core/routing/pauses.js';

const T = DEFAULT_SAFETY_THRESHOLDS;
const counts = (sent: number, hardBounced: number, complained: number) => ({ sent, hardBounced, complained });

test('rates count only from the minimum volume on', () => {
  assert.deepEqual(judgeWindow(counts(99, 99, 99), T), { kind: 'too_little_volume' });
  assert.deepEqual(judgeWindow(counts(0, 0, 0), { ...T, minVolume: 0 }), { kind: 'too_little_volume' });
  assert.equal(judgeWindow(counts(100, 6, 0), T).kind, 'over');
});

test('a threshold is passed only above it: 5 % of hard bounces is allowed, 5.1 % is not', () => {
  assert.deepEqual(judgeWindow(counts(1000, 50, 3), T), { kind: 'ok' });
  const v = judgeWindow(counts(1000, 51, 0), T);
  assert.deepEqual(v, {
    kind: 'over',
    metric: 'hard_bounce',
    count: 51,
    sent: 1000,
    rate: 0.051,
    threshold: 0.05,
  });
});

test('complaints over 0.3 % pause even with few bounces, and are named first', () => {
  const v = judgeWindow(counts(1000, 60, 4), T);
  assert.equal(v.kind === 'over' && v.metric, 'complaint');
});

const w = (tenant: string, sendingDomain: string, c: ReturnType<typeof counts>): DomainWindow => ({
  tenantId: `id-${tenant}`,
  tenant,
  sendingDomain,
  counts: c,
});

test('a tenant over the threshold on all its domains together is paused as a whole', () => {
  // Neither domain reaches the minimum volume alone; together they do, and bounce 10 %.
  const pauses = decideAutoPauses(
    [w('acme', 'a.test', counts(60, 6, 0)), w('acme', 'b.test', counts(60, 6, 0))],
    T,
    () => false,
  );
  assert.equal(pauses.length, 1);
  assert.equal(pauses[0]!.scope, 'tenant');
  assert.equal(pauses[0]!.value, 'acme');
  assert.match(
    pauses[0]!.reason,
    /^hard-bounce rate 10% \(12 hard bounces of 120 sent in the last 1d\) is over 5%$/,
  );
});

test('one bad domain of a tenant that is fine overall is paused alone', () => {
  const pauses = decideAutoPauses(
    [w('acme', 'bad.test', counts(100, 10, 0)), w('acme', 'good.test', counts(10_000, 0, 0))],
    T,
    () => false,
  );
  assert.deepEqual(
    pauses.map((p) => [p.scope, p.value]),
    [['sending_domain', 'bad.test']],
  );
});

test('scopes already paused are left alone; other tenants are judged apart', () => {
  const windows = [w('acme', 'a.test', counts(200, 100, 0)), w('globex', 'g.test', counts(200, 100, 0))];
  const pauses = decideAutoPauses(windows, T, (scope, value) => scope === 'tenant' && value === 'acme');
  assert.deepEqual(
    pauses.map((p) => [p.scope, p.value, p.tenantId]),
    [['tenant', 'globex', 'id-globex']],
  );
});

test('only automatic pauses refuse new mail, for their tenant or sending domain, while in force', () => {
  const auto = (scope: Pause['scope'], value: string, untilMs: number | null = null): Pause => ({
    scope,
    value,
    untilMs,
    reason: 'r',
    actor: TRUST_AND_SAFETY_ACTOR,
  });
  const operator: Pause = {
    scope: 'tenant',
    value: 'acme',
    untilMs: null,
    reason: 'review',
    actor: 'cli:ops',
  };
  assert.equal(refusingPause([operator], 'acme', 'a.test', 0), null);
  assert.equal(refusingPause([auto('tenant', 'acme')], 'ACME', 'a.test', 0)?.scope, 'tenant');
  assert.equal(
    refusingPause([auto('sending_domain', 'a.test')], 'acme', 'a.test', 0)?.scope,
    'sending_domain',
  );
  assert.equal(refusingPause([auto('sending_domain', 'a.test')], 'acme', 'b.test', 0), null);
  assert.equal(refusingPause([auto('tenant', 'acme', 1000)], 'acme', 'a.test', 1000), null, 'expired');
});

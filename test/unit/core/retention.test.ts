import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dayKey, dayStartMs, daysAhead, daysPastRetention } from '../../../core/retention.js';

const at = (iso: string) => Date.parse(iso);

test('day keys are UTC days', () => {
  assert.equal(dayKey(at('2026-12-06T23:59:59Z')), '20261206');
  assert.equal(dayKey(at('2026-12-07T00:00:00Z')), '20261207');
  assert.equal(dayStartMs('20261206'), at('2026-12-06T00:00:00Z'));
  assert.equal(dayStartMs('20261301'), null, 'no 13th month');
  assert.equal(dayStartMs('default'), null);
});

test('partitions exist for today and the days ahead, across a month end', () => {
  assert.deepEqual(daysAhead(at('2026-12-30T10:00:00Z'), 3), [
    '20261230',
    '20261231',
    '20270101',
    '20270102',
  ]);
});

test('a day goes only when all of it is older than the retention', () => {
  const now = at('2026-12-31T12:00:00Z');
  const days = ['20261129', '20261130', '20261201', '20261202', 'default'];
  // 30 days back from noon on the 31st is noon on the 1st: the 1st is still partly kept.
  assert.deepEqual(daysPastRetention(days, now, 30 * 86_400_000), ['20261129', '20261130']);
});

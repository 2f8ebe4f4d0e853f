import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_RETRY_SCHEDULE,
  nextRetry,
  type RetrySchedule,
} from '../../../core/delivery/retry-schedule.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

test('the default schedule doubles from 5 minutes and caps at 4 hours', () => {
  const delays = [1, 2, 3, 4, 5, 6, 7].map((a) => nextRetry(DEFAULT_RETRY_SCHEDULE, a, 0));
  assert.deepEqual(
    delays.map((d) => (d.kind === 'retry' ? d.delayMs / MIN : d.kind)),
    [5, 10, 20, 40, 80, 160, 240],
  );
});

test('a reply hint longer than the schedule wins; a shorter one does not shorten it', () => {
  assert.deepEqual(nextRetry(DEFAULT_RETRY_SCHEDULE, 1, 0, 30 * MIN), { kind: 'retry', delayMs: 30 * MIN });
  assert.deepEqual(nextRetry(DEFAULT_RETRY_SCHEDULE, 1, 0, 10_000), { kind: 'retry', delayMs: 5 * MIN });
});

test('past the max age the recipient expires, with one last try at the deadline', () => {
  const s: RetrySchedule = {
    initialMs: HOUR,
    factor: 2,
    maxDelayMs: 4 * HOUR,
    maxAgeMs: 10 * HOUR,
    greylistMs: 5 * MIN,
  };
  assert.deepEqual(nextRetry(s, 3, 7 * HOUR), { kind: 'retry', delayMs: 3 * HOUR });
  assert.deepEqual(nextRetry(s, 4, 10 * HOUR), { kind: 'expire' });
  assert.deepEqual(nextRetry(s, 4, 11 * HOUR), { kind: 'expire' });
  assert.deepEqual(
    nextRetry(s, 1, 9 * HOUR, 2 * HOUR),
    { kind: 'expire' },
    'a hint past the deadline expires',
  );
});

test('greylisting retries after the greylist delay whatever the attempt, still bounded by max age', () => {
  assert.deepEqual(nextRetry(DEFAULT_RETRY_SCHEDULE, 6, 0, undefined, true), {
    kind: 'retry',
    delayMs: 5 * MIN,
  });
  assert.deepEqual(nextRetry(DEFAULT_RETRY_SCHEDULE, 1, 0, 15 * MIN, true), {
    kind: 'retry',
    delayMs: 15 * MIN,
  });
  assert.deepEqual(nextRetry(DEFAULT_RETRY_SCHEDULE, 9, DEFAULT_RETRY_SCHEDULE.maxAgeMs, undefined, true), {
    kind: 'expire',
  });
});

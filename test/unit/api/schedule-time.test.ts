import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScheduledAt, scheduleDelay } from '../../../api/schedule-time.js';

// A fixed clock: Sunday 6 December 2026, 13:00 UTC.
const NOW = Date.parse('2026-12-06T13:00:00Z');

function at(text: string): string {
  const r = parseScheduledAt(text, NOW);
  assert.ok(r.ok, `${text}: ${r.ok ? '' : r.message}`);
  return new Date(r.atMs).toISOString();
}

test('ISO 8601 date-times with a zone are read as written', () => {
  assert.equal(at('2026-12-07T10:00:00Z'), '2026-12-07T10:00:00.000Z');
  assert.equal(at('2026-12-07T10:00:00.250+02:00'), '2026-12-07T08:00:00.250Z');
});

test("natural language as Resend's documentation writes it, relative to now, in UTC", () => {
  assert.equal(at('in 1 min'), '2026-12-06T13:01:00.000Z');
  assert.equal(at('in 1 hour'), '2026-12-06T14:00:00.000Z');
  assert.equal(at('tomorrow at 9am'), '2026-12-07T09:00:00.000Z');
  assert.equal(at('in 2 days at noon'), '2026-12-08T12:00:00.000Z');
});

test('a named time zone counts, and a weekday is the next one', () => {
  // Eastern Time in December is UTC-5; the next Friday after Sunday 6 December is the 11th.
  assert.equal(at('Friday at 3pm ET'), '2026-12-11T20:00:00.000Z');
  assert.equal(at('friday 3pm EST'), '2026-12-11T20:00:00.000Z');
  assert.equal(at('tomorrow at 9am CET'), '2026-12-07T08:00:00.000Z');
});

test('text that is not wholly a time is refused, not guessed at', () => {
  for (const text of [
    'whenever',
    'send it in 1 min please',
    '2026-12-07T10:00:00Z and more',
    '2026-13-45T10:00Z',
    '',
  ]) {
    assert.equal(parseScheduledAt(text, NOW).ok, false, text);
  }
});

test('the delay: past times send now, more than 30 days ahead is refused', () => {
  assert.deepEqual(scheduleDelay('in 1 min', NOW), { ok: true, delayMs: 60_000 });
  assert.deepEqual(scheduleDelay('2026-12-06T12:00:00Z', NOW), { ok: true, delayMs: 0 });
  assert.deepEqual(scheduleDelay('in 30 days', NOW), { ok: true, delayMs: 30 * 86_400_000 });
  assert.equal(scheduleDelay('in 31 days', NOW).ok, false);
});
